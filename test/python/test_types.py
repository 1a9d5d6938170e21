"""The runtime's type hints hold: mypy --strict over templates/python/msec (it ships py.typed)."""
import os
import subprocess
import sys

from conftest import ROOT


def test_runtime_passes_mypy_strict():
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports", "--no-incremental", "msec"],
        cwd=os.path.join(ROOT, "templates", "python"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert os.path.exists(os.path.join(ROOT, "templates", "python", "msec", "py.typed"))
