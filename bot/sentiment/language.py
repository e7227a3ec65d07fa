"""Which language a comment is written in, by its script and its function words."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from functools import cache
from importlib import resources

ENGLISH = "en"
_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile("[abcdefghijklmnopqrstuvwxyzáéíóúñüàèìòùâêîôûçäößãõ]")
_WORD = re.compile(r"[^\W\d_]+")


@cache
def function_words() -> dict[str, frozenset[str]]:
    """Each language's function words (bot/sentiment/data/languages.toml)."""
    text = resources.files("bot.sentiment").joinpath("data", "languages.toml").read_text("utf-8")
    table = tomllib.loads(text)["function_words"]
    return {language: frozenset(words.split()) for language, words in table.items()}


@cache
def _languages_of() -> dict[str, tuple[str, ...]]:
    languages: dict[str, list[str]] = {}
    for language, words in function_words().items():
        for word in words:
            languages.setdefault(word, []).append(language)
    return {word: tuple(found) for word, found in languages.items()}


def detect(text: str, hint: str | None = None) -> str | None:
    """The text's language code, or `None` for a script other than Latin.

    Two or more function words of one language, more than of any other, decide. With less
    to go on, the `hint` (the language the patient chose) decides, and failing that English,
    the language of most short comments. One word is too little: "N.Y." is not Spanish.
    """
    lowered = text.lower()
    letters = 0 if lowered.isascii() else len(_LETTER.findall(lowered))  # ASCII is Latin
    if letters and len(_LATIN_LETTER.findall(lowered)) < letters / 2:
        return None  # Cyrillic, Arabic, Chinese...
    languages_of = _languages_of()
    counts = Counter(
        language for word in _WORD.findall(lowered) for language in languages_of.get(word, ())
    )
    ranked = counts.most_common(2)
    if ranked and ranked[0][1] >= 2 and (len(ranked) == 1 or ranked[1][1] < ranked[0][1]):
        return ranked[0][0]
    return hint if hint in function_words() else ENGLISH
