"""The layers import one way: handlers -> services -> domain; storage -> domain.

Only the composition root (bot/app.py) and the command line (bot/cli.py, bot/commands.py)
import everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Telegram and SQL stay out of the domain, the services and the scorer, and so does wiring.
NO_IO = ["telegram", "aiosqlite", "sqlite3", "storage", "handlers"]
NO_WIRING = ["bot.app", "bot.cli", "bot.commands", "bot.settings"]
# package (path prefix) -> import prefixes it must not use
FORBIDDEN = {
    "bot/domain": [*NO_IO, "bot.services", *NO_WIRING, "textblob"],
    "bot/services": [*NO_IO, *NO_WIRING, "textblob"],
    "bot/sentiment": [*NO_IO, "bot.services", *NO_WIRING, "textblob"],
    "bot/settings.py": NO_IO,
    "storage": [
        "telegram",
        "handlers",
        "bot.services.feedback",
        "bot.services.staff",
        "bot.services.cases",
        "bot.app",
        "bot.cli",
        "bot.commands",
        "textblob",
    ],
    "handlers": [
        "aiosqlite",
        "sqlite3",
        "storage",
        "bot.app",
        "bot.cli",
        "bot.commands",
        "textblob",
    ],
}
# The benchmarks' TextBlob baseline is the one module of the scorer that may load TextBlob.
ALLOWED = {"bot/sentiment/baseline.py": ["textblob"]}
COMPOSITION = {"bot/app.py", "bot/cli.py", "bot/commands.py"}


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def source_files() -> list[Path]:
    return sorted(
        p for package in ("bot", "handlers", "storage") for p in (ROOT / package).rglob("*.py")
    )


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative in COMPOSITION:
        return
    rules = [bad for prefix, bad in FORBIDDEN.items() if relative.startswith(prefix)]
    allowed = ALLOWED.get(relative, [])
    violations = [
        name
        for name in imports_of(path)
        for banned in (b for rule in rules for b in rule if b not in allowed)
        if name == banned or name.startswith(banned + ".")
    ]
    assert violations == [], f"{relative} imports {violations}"


def test_sql_lives_in_storage_only() -> None:
    keywords = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "CREATE TABLE")
    offenders = [
        path.relative_to(ROOT).as_posix()
        for path in source_files()
        if not path.relative_to(ROOT).as_posix().startswith("storage/")
        and any(keyword in path.read_text("utf-8") for keyword in keywords)
    ]
    assert offenders == []


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from storage.database import Database\nimport telegram.ext\n")
    assert imports_of(sneaky) == ["storage.database", "telegram.ext"]
