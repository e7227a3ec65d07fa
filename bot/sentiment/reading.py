"""What a language's reader makes of a text, before topics and the safety lane."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reading:
    """A polarity in [-1, 1] and the words or rules behind it."""

    polarity: float
    reasons: tuple[str, ...]
