"""Sentiment of free-text answers: polarity, label, topics, complaints and the safety lane.

`ClinicScorer` is what the bot uses. It finds the comment's language (`language`), reads
English with VADER and trained word models (`english`) and Spanish with a lexicon and a
distilled word model (`spanish`), and looks in every comment, whatever its language, for
possible complications (`lexicon` and the per-language files in `data/`). The baseline the
benchmarks compare it with, TextBlob, lives in `baseline` and is never loaded by the bot.
"""

from __future__ import annotations

from bot.domain.models import Sentiment, SentimentLabel
from bot.sentiment.english import (
    AESTHETIC_LEXICON,
    EMOJI_WORDS,
    SHORT_TEXT,
    EnglishReader,
    WordModel,
    clinic_vader,
    label_for,
)
from bot.sentiment.language import ENGLISH, detect
from bot.sentiment.lexicon import Complication, Lexicon, LexiconError, fold, lexicon
from bot.sentiment.spanish import SpanishReader

__all__ = ["AESTHETIC_LEXICON", "ClinicScorer", "LexiconError", "clinic_vader", "lexicons"]

SAFETY = "safety"
SPANISH = "es"
READ = (ENGLISH, SPANISH)
# A complaint without sentiment words ("waited 45 minutes past my appointment") reads this
# negative at least: plainly a complaint, not the strongest.
COMPLAINT_POLARITY = -0.5
MAX_REASONS = 6


def lexicons() -> dict[str, Lexicon]:
    """The lexicons of the languages the scorer reads, loaded and validated once.

    Raises `LexiconError` naming the file and the problem if one is broken.
    """
    return {language: lexicon(language) for language in READ}


class ClinicScorer:
    """Scores comments in English and Spanish, and flags possible complications in both."""

    def __init__(
        self,
        negative_below: float = -0.05,
        positive_above: float = 0.05,
        model: WordModel | None = None,
    ) -> None:
        if not negative_below <= positive_above:
            raise ValueError("the negative threshold must not exceed the positive one")
        self._negative_below = negative_below
        self._positive_above = positive_above
        self._lexicons = lexicons()
        self._english = EnglishReader(negative_below, positive_above, model)
        vader = self._english.lexicon
        emoji = {char: vader[word] for char, word in EMOJI_WORDS.items() if word in vader}
        self._spanish = SpanishReader(self._lexicons[SPANISH], emoji)
        self._topic_order = [SAFETY, *self._lexicons[ENGLISH].data.topics]

    def score(self, text: str, language: str | None = None) -> Sentiment:
        """Polarity in [-1, 1], a label, topics, and the reasons behind them.

        `language` is the patient's language, which decides for texts too short to tell.
        """
        folded = fold(text)
        detected = detect(text, language)
        own = self._lexicons.get(detected) if detected else None
        complications: list[Complication] = []
        for each in self._lexicons.values():
            complications += each.complications(text, folded)
        safety = [c.reason for c in dict.fromkeys(complications)]
        readers = [own] if own else list(self._lexicons.values())
        found = {topic for reader in readers for topic in reader.topics(folded)}
        complaints = own.complaints(text, folded) if own else []
        found.update(complaint.topic for complaint, _ in complaints)
        if complications:
            found.add(SAFETY)
        topics = tuple(topic for topic in self._topic_order if topic in found)
        if own is None:
            unread = ("not English or Spanish: not scored", *safety)
            return Sentiment(0.0, SentimentLabel.UNKNOWN, topics, unread[:MAX_REASONS])
        reading = (
            self._english.read(text)
            if own.language == ENGLISH
            else self._spanish.read(text, folded)
        )
        polarity, reasons = reading.polarity, list(reading.reasons)
        if complaints and len(folded.split()) <= SHORT_TEXT:
            # A review has room to say what it thinks, and its model reads all of it; a short
            # comment that states a complaint means the complaint.
            said: dict[str, str] = {}  # the first words for each kind of complaint
            for complaint, words in complaints:
                said.setdefault(complaint.reason, f"complaint: {words} ({complaint.reason})")
            if polarity > self._negative_below:
                # The other words read as praise or as nothing; the complaint says what is meant.
                reasons = [f"sarcasm: {marker}"] if (marker := own.sarcasm(folded)) else []
            reasons = [*said.values(), *reasons]
            polarity = min(polarity, COMPLAINT_POLARITY)
        label = label_for(polarity, self._negative_below, self._positive_above)
        return Sentiment(round(polarity, 4), label, topics, (*safety, *reasons)[:MAX_REASONS])
