"""INI configuration with MSEC's ``get_config`` semantics (spec §8.1, §5.5).

Sections and keys are case-sensitive, ``#`` and ``;`` start comment lines,
``key=value`` is trimmed. A missing file, section or key, or an empty value,
all read as ``None``.
"""
import os
from typing import Dict, Optional, Tuple

#: Environment variable naming the config file; else ``etc/config.ini``, else
#: the original's ``../etc/config.ini`` (a process started in ``bin/``).
CONFIG_ENV = "MSEC_CONFIG"
DEFAULT_CONFIG_PATHS = ("etc/config.ini", "../etc/config.ini")

IniData = Dict[str, Dict[str, str]]

# Parsed files keyed by path, re-read when the modification time changes.
_cache: Dict[str, Tuple[float, IniData]] = {}


def default_config_path() -> str:
    """Where ``get_config`` looks when no filename is given."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return env
    for path in DEFAULT_CONFIG_PATHS:
        if os.path.exists(path):
            return path
    return DEFAULT_CONFIG_PATHS[0]


def parse_ini(text: str) -> IniData:
    """Parses INI text; lines that are neither sections nor ``key=value`` are ignored."""
    data: IniData = {}
    section: Optional[Dict[str, str]] = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = data.setdefault(line[1:-1].strip(), {})
            continue
        if "=" in line and section is not None:
            key, value = line.split("=", 1)
            section[key.strip()] = value.strip()
    return data


def read_config(filename: Optional[str] = None) -> IniData:
    """The whole file as ``{section: {key: value}}``; ``{}`` when it cannot be read."""
    path = filename or default_config_path()
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return {}
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            data = parse_ini(f.read())
    except OSError:
        return {}
    _cache[path] = (mtime, data)
    return data


def get_config(section: str, key: str, filename: Optional[str] = None) -> Optional[str]:
    """The value of ``[section] key``, or ``None`` if absent or empty."""
    value = read_config(filename).get(section, {}).get(key)
    return value if value else None
