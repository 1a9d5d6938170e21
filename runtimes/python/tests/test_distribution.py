"""The distribution's identity: one version everywhere, typed packages, MSEC's import name."""
import json
import os
import re

import msec
import msec.msec_impl
import msec_impl
from conftest import PROJECT, ROOT, SRC


def test_version_is_locked_to_msec_gen() -> None:
    with open(os.path.join(PROJECT, "pyproject.toml"), encoding="utf-8") as f:
        declared = re.search(r'^version = "([^"]+)"$', f.read(), re.M)
    with open(os.path.join(ROOT, "package.json"), encoding="utf-8") as f:
        generator = json.load(f)["version"]
    assert declared is not None
    assert (declared.group(1), msec.__version__) == (generator, generator)


def test_both_packages_ship_py_typed() -> None:
    assert os.path.isfile(os.path.join(SRC, "msec", "py.typed"))
    assert os.path.isfile(os.path.join(SRC, "msec_impl", "py.typed"))


def test_msec_impl_is_msecs_api_under_its_original_name() -> None:
    assert msec_impl.__all__ == msec.msec_impl.__all__
    for name in msec_impl.__all__:
        assert getattr(msec_impl, name) is getattr(msec.msec_impl, name), name
