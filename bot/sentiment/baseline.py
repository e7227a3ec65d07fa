"""TextBlob's polarity: the baseline the benchmarks measure the clinic's scorer against.

Kept out of `bot.sentiment` so that the bot never loads TextBlob (and NLTK) at start.
"""

from __future__ import annotations

from textblob import TextBlob

from bot.domain.models import Sentiment
from bot.sentiment.english import label_for


class TextBlobScorer:
    """TextBlob's pattern-based polarity, labelled with configurable thresholds.

    Only `.sentiment` is used: it needs no NLTK corpora, so it works offline.
    """

    def __init__(self, negative_below: float = -0.05, positive_above: float = 0.05) -> None:
        if not negative_below <= positive_above:
            raise ValueError("the negative threshold must not exceed the positive one")
        self._negative_below = negative_below
        self._positive_above = positive_above

    def score(self, text: str, language: str | None = None) -> Sentiment:  # noqa: ARG002 - the port's signature; TextBlob reads English only
        """Polarity in [-1, 1] and a label."""
        polarity = float(TextBlob(text).sentiment.polarity)
        polarity = max(-1.0, min(1.0, polarity))
        return Sentiment(
            round(polarity, 4), label_for(polarity, self._negative_below, self._positive_above)
        )
