"""The Python envelope writer produces the same bytes as the TypeScript runtime's for the same JSON tree."""
import json
import os
import subprocess

from conftest import ROOT
from msec import envelope_body
from msec.envelope import json_number

TREES = [
    "{}",
    '{"message": "aGVsbG8="}',
    '{"a": [1, 2.0, 0.1, -0.0, 1e21, 1e20, 1e-7, 1.5e-7, 0.000001, 3e300, 5e-324, 0.30000000000000004, 12500000000000000.0]}',
    '{"s": "quote \\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f ctl \\u0001 \\u001f del \\u007f ü 🚀 \\u2028"}',
    '{"nested": {"k": [true, false, null, {"x": []}]}, "int64": "-9223372036854775808", "n": -42}',
    '{"ключ": "значение", "": ""}',
]


def test_same_bytes_as_the_typescript_envelope():
    script = (
        f"import {{ jsonEnvelope }} from {json.dumps(os.path.join(ROOT, 'runtimes', 'ts', 'src', 'server', 'json-envelope.ts'))};\n"
        "import { readFileSync } from 'node:fs';\n"
        "const trees = JSON.parse(readFileSync(0, 'utf8'));\n"
        "process.stdout.write(JSON.stringify(trees.map((t) => jsonEnvelope(0, '', JSON.parse(t)))));\n"
    )
    out = subprocess.run(
        ["node", "--import", "tsx", "--input-type=module", "-e", script],
        cwd=ROOT,
        input=json.dumps(TREES),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    expected = json.loads(out.stdout)
    assert [envelope_body(0, json.loads(t)) for t in TREES] == expected


def test_numbers_are_written_like_javascript():
    assert [json_number(x) for x in (1.0, 1e21, 1e-7, 0.000001, -2.5, 100.0)] == ["1", "1e+21", "1e-7", "0.000001", "-2.5", "100"]
