"""The layers import one way: handlers -> services -> domain; storage -> domain.

Every module belongs to a layer, and each layer names what of the project it may import
(and which outside libraries it may not). Only the composition root (bot/app.py) and the
command line (bot/cli.py, bot/commands.py, and the demo it runs) import everything.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("bot", "handlers", "storage")

# Input and output: the network, the database, the screen. Not in the domain or services.
IO = ("telegram", "aiosqlite", "sqlite3", "aiohttp", "httpx", "matplotlib", "segno")


@dataclass(frozen=True)
class Layer:
    """What the modules of one layer may import from the project, and may not from outside."""

    name: str
    may_import: tuple[str, ...]
    """Project packages (prefixes) it may use; anything else of the project is a violation."""
    may_not_use: tuple[str, ...] = ()
    """Outside libraries it must not import."""


DOMAIN = Layer("domain", ("bot.domain",), (*IO, "pydantic_settings", "textblob"))
SENTIMENT = Layer("sentiment", ("bot.sentiment", "bot.domain"), (*IO, "textblob"))
SERVICES = Layer("services", ("bot.services", "bot.domain", "bot.sentiment"), (*IO, "textblob"))
STORAGE = Layer("storage", ("storage", "bot.domain"), ("telegram", "aiohttp", "matplotlib"))
HANDLERS = Layer(
    "handlers",
    ("handlers", "bot.services", "bot.domain", "bot.qr", "bot.pacing"),
    ("aiosqlite", "sqlite3", "textblob"),
)
SETTINGS = Layer("settings", ("bot.domain", "bot.env", "bot.keyfile"), IO)
LEAF = Layer("a module that stands alone", (), ("textblob",))
COMMAND_LINE = Layer(
    "the command line's parser", ("bot.cli", "bot.commands", "bot.domain", "bot.env"), IO
)
EVERYTHING = Layer("composition", PROJECT)

# The most specific prefix wins.
LAYERS = {
    "bot/domain/": DOMAIN,
    "bot/sentiment/": SENTIMENT,
    "bot/services/": SERVICES,
    "storage/": STORAGE,
    "handlers/": HANDLERS,
    "bot/settings.py": SETTINGS,
    "bot/env.py": LEAF,
    "bot/keyfile.py": LEAF,
    "bot/logs.py": LEAF,
    "bot/pacing.py": LEAF,
    "bot/qr.py": LEAF,
    "bot/__init__.py": LEAF,
    "bot/surveys/__init__.py": LEAF,  # a data package: the survey and alias files
    # The demo's local Bot API (the tests' fake builds on it): Telegram's shapes, nothing of
    # ours.
    "bot/local_telegram.py": Layer("local Telegram", (), ("aiosqlite", "sqlite3", "textblob")),
    "bot/cli.py": COMMAND_LINE,
    "bot/app.py": EVERYTHING,
    "bot/commands.py": EVERYTHING,
    "bot/demo.py": EVERYTHING,
}
# The benchmarks' TextBlob baseline is the one module of the scorer that may load TextBlob.
EXCEPTIONS = {"bot/sentiment/baseline.py": ("textblob",)}


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
    return sorted(p for package in PROJECT for p in (ROOT / package).rglob("*.py"))


def layer_of(relative: str) -> Layer:
    prefixes = [prefix for prefix in LAYERS if relative.startswith(prefix)]
    if not prefixes:
        raise LookupError(f"{relative} belongs to no layer: add it to LAYERS")
    return LAYERS[max(prefixes, key=len)]


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(relative: str, imports: list[str]) -> list[str]:
    """The imports of the module at `relative` that its layer does not allow."""
    layer = layer_of(relative)
    allowed_outside = EXCEPTIONS.get(relative, ())
    found = []
    for name in imports:
        if name.split(".")[0] in PROJECT:
            if not any(_within(name, prefix) for prefix in layer.may_import):
                found.append(name)
        elif any(_within(name, banned) for banned in layer.may_not_use) and not any(
            _within(name, allowed) for allowed in allowed_outside
        ):
            found.append(name)
    return found


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    bad = violations(relative, imports_of(path))
    assert bad == [], f"{relative} ({layer_of(relative).name}) imports {bad}"


def test_every_module_belongs_to_a_layer() -> None:
    for path in source_files():
        layer_of(path.relative_to(ROOT).as_posix())  # raises for a module in no layer


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
    sneaky.write_text(
        "import telegram.ext\nfrom storage.database import Database\nfrom bot.domain import flow\n"
    )
    imports = imports_of(sneaky)
    assert imports == ["telegram.ext", "storage.database", "bot.domain"]
    # The same module, wherever it sits, is judged by that layer's rules.
    assert violations("bot/domain/sneaky.py", imports) == ["telegram.ext", "storage.database"]
    assert violations("bot/services/sneaky.py", imports) == ["telegram.ext", "storage.database"]
    assert violations("handlers/sneaky.py", imports) == ["storage.database"]
    assert violations("storage/sneaky.py", imports) == ["telegram.ext"]
    assert violations("storage/x.py", ["bot.services.ports"]) == ["bot.services.ports"]
    assert violations("bot/sentiment/baseline.py", ["textblob"]) == []
    assert violations("bot/sentiment/english.py", ["textblob"]) == ["textblob"]
    assert violations("bot/app.py", imports) == []  # the composition root wires everything
    with pytest.raises(LookupError, match="belongs to no layer"):
        layer_of("bot/new_module.py")
