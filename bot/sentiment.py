"""Sentiment scoring of free-text answers; TextBlob is the baseline scorer."""

from __future__ import annotations

from textblob import TextBlob

from bot.domain.models import Sentiment, SentimentLabel


class TextBlobScorer:
    """TextBlob's pattern-based polarity, labelled with configurable thresholds.

    Only `.sentiment` is used: it needs no NLTK corpora, so it works offline.
    """

    def __init__(self, negative_below: float = -0.05, positive_above: float = 0.05) -> None:
        if not negative_below <= positive_above:
            raise ValueError("the negative threshold must not exceed the positive one")
        self._negative_below = negative_below
        self._positive_above = positive_above

    def score(self, text: str) -> Sentiment:
        """Polarity in [-1, 1] and a label; topics come with a later scorer."""
        polarity = float(TextBlob(text).sentiment.polarity)
        polarity = max(-1.0, min(1.0, polarity))
        if polarity < self._negative_below:
            label = SentimentLabel.NEGATIVE
        elif polarity > self._positive_above:
            label = SentimentLabel.POSITIVE
        else:
            label = SentimentLabel.NEUTRAL
        return Sentiment(round(polarity, 4), label)
