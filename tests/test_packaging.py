"""`pip install .` (the README's run command) must ship every file the code loads.

The tests run from the source tree (an editable install), which would hide a data file
left out of the wheel; this checks the packaging rules themselves, offline.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Every data file the code reads through importlib.resources.
LOADED = [
    *sorted((ROOT / "storage" / "migrations").glob("*.sql")),
    ROOT / "bot" / "surveys" / "default.toml",
    *sorted((ROOT / "bot" / "sentiment" / "data").glob("*.*")),
    ROOT / "bot" / "py.typed",
]


def test_every_loaded_data_file_is_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    rules = config["tool"]["setuptools"]["package-data"]
    shipped = {
        path
        for package, patterns in rules.items()
        for pattern in patterns
        for path in (ROOT / package).glob(pattern)
    }
    missing = [str(path.relative_to(ROOT)) for path in LOADED if path not in shipped]
    assert missing == []
