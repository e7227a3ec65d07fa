"""The baseline scorer: TextBlob polarity with configurable label thresholds, offline."""

from __future__ import annotations

import pytest

from bot.domain.models import SentimentLabel
from bot.sentiment.baseline import TextBlobScorer


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("The nurse was wonderful and the result is great!", SentimentLabel.POSITIVE),
        ("Terrible wait and a rude receptionist.", SentimentLabel.NEGATIVE),
        ("I had my appointment on Tuesday.", SentimentLabel.NEUTRAL),
        ("😍😍😍", SentimentLabel.NEUTRAL),
    ],
)
def test_labels(text: str, label: SentimentLabel) -> None:
    sentiment = TextBlobScorer().score(text)
    assert sentiment.label is label
    assert -1 <= sentiment.polarity <= 1


def test_thresholds_decide_the_label() -> None:
    text = "The wait was a little long."  # mildly negative for TextBlob
    polarity = TextBlobScorer().score(text).polarity
    assert -0.5 < polarity < 0
    strict = TextBlobScorer(negative_below=polarity - 0.01, positive_above=0.5)
    assert strict.score(text).label is SentimentLabel.NEUTRAL
    lenient = TextBlobScorer(negative_below=polarity + 0.01, positive_above=0.5)
    assert lenient.score(text).label is SentimentLabel.NEGATIVE


def test_thresholds_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="must not exceed"):
        TextBlobScorer(negative_below=0.5, positive_above=0.1)
