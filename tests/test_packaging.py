"""`pip install` of the source folder, as the service install does it (docs/operator/service.md).

The tests run from the source tree (an editable install), which would hide a data file
left out of the wheel, or a build that writes into the folder it installs from. Here an
unprivileged user builds and installs the wheel from a root-owned, read-only copy of the
tree, offline, and every file the code loads must be in the installed package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
UNPRIVILEGED = "nobody"
SYSTEM_PYTHON = "/usr/bin/python3"

# Every data file the code reads through importlib.resources.
LOADED = [
    *sorted((ROOT / "storage" / "migrations").glob("*.sql")),
    *sorted((ROOT / "storage" / "revisions").glob("*.*")),
    *sorted((ROOT / "storage" / "revisions" / "versions").glob("*.py")),
    *sorted((ROOT / "bot" / "surveys").glob("*.toml")),
    *sorted((ROOT / "bot" / "sentiment" / "data").glob("*.*")),
    *sorted((ROOT / "handlers" / "console_page").glob("*.*")),
    ROOT / "bot" / "py.typed",
    ROOT / "handlers" / "py.typed",
    ROOT / "storage" / "py.typed",
]


def copy_distributions(requirements: list[str], target: Path) -> None:
    """Copy installed distributions and what they require (offline: from this venv)."""
    wanted, seen = [Requirement(r).name for r in requirements], set()
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in seen:
            continue
        seen.add(name)
        found = metadata.distribution(name)
        assert found.files is not None
        for file in found.files:
            if file.parts[0].endswith((".dist-info", ".data")) or file.parts[0] == "..":
                continue
            (target / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(str(found.locate_file(file))), target / file)
        for required in found.requires or []:
            requirement = Requirement(required)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in listed.stdout.splitlines() if (ROOT / name).is_file()]


def snapshot(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user may enter (pytest's own tmp_path is its owner's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="feedback-install-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(
    os.geteuid() != 0 or not Path(SYSTEM_PYTHON).exists(),
    reason="installing as another user needs root and Debian's python3 (CI has both)",
)
def test_another_user_installs_from_a_read_only_source_folder_and_gets_every_data_file(
    shared_folder: Path,
) -> None:
    source = shared_folder / "medspa-feedback-bot"
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for path in [source, *source.rglob("*")]:  # root's, and read-only for everyone
        path.chmod(0o555 if path.is_dir() else 0o444)
    before = snapshot(source)
    home = shared_folder / "home"
    home.mkdir()
    shutil.chown(home, UNPRIVILEGED)

    build_system = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["build-system"]
    build_backend = shared_folder / "build-backend"
    copy_distributions(build_system["requires"], build_backend)

    def as_unprivileged(*command: str | Path) -> subprocess.CompletedProcess[str]:
        # Debian's python3 (this interpreter lives under /root, where nobody may look), in
        # the read-only source folder, as pip builds there.
        return subprocess.run(
            command,
            user=UNPRIVILEGED,
            cwd=source,
            env={"PATH": "/usr/bin:/bin", "HOME": str(home), "PIP_NO_INDEX": "1"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    # What `pip install /path/to/medspa-feedback-bot` runs: the PEP 517 build in the source
    # folder (offline: the backend from this environment), then the wheel's install.
    backend = build_system["build-backend"]
    built = as_unprivileged(
        SYSTEM_PYTHON,
        "-c",
        f"import sys; sys.path.insert(0, {str(build_backend)!r}); import {backend} as backend; "
        f"print(backend.build_wheel({str(home / 'dist')!r}))",
    )
    assert built.returncode == 0, built.stderr
    [wheel] = (home / "dist").glob("medspa_feedback_bot-*.whl")
    venv = home / "venv"
    made = as_unprivileged(SYSTEM_PYTHON, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    installed = as_unprivileged(
        venv / "bin" / "pip", "install", "--no-deps", "--no-cache-dir", wheel
    )
    assert installed.returncode == 0, installed.stderr
    site = next(venv.glob("lib/python3*/site-packages"))

    assert snapshot(source) == before  # no build/, no *.egg-info: nothing written
    missing = [
        str(path.relative_to(ROOT))
        for path in LOADED
        if not (site / path.relative_to(ROOT)).is_file()
    ]
    assert missing == []
    assert not (site / "tests").exists()
    # The demo's local Bot API ships; the tests' fault injection does not.
    assert "def fail_next" not in (site / "bot" / "local_telegram.py").read_text()
    assert not (site / "bot" / "fake_telegram.py").exists()
    entry_points = next(site.glob("medspa_feedback_bot-*.dist-info")) / "entry_points.txt"
    assert "feedback-bot = bot.cli:main" in entry_points.read_text()
