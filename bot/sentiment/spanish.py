"""Reading Spanish comments: a lexicon with negation and "pero", and a word model.

The lexicon (the `valences` of bot/sentiment/data/es.toml) knows the words patients of an
aesthetic clinic use ("hinchada", "bultos", "natural"); the word model, a naive Bayes model
distilled from the sentiment-analysis-spanish package (scripts/distill_spanish_model.py),
knows how Spanish speakers write about services in general. The lexicon decides when it is
sure; otherwise the model does, if it found enough words it knows.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources

from bot.sentiment.lexicon import Lexicon, fold
from bot.sentiment.reading import Reading

_NB_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's CountVectorizer default
_TOKEN = re.compile(r"\w+|[.!?;]")
_SENTENCE_END = frozenset(".!?;")


@dataclass(frozen=True)
class NaiveBayes:
    """Log-odds of "positive" for word 1-3-grams, and the prior."""

    prior: float
    ngrams: dict[str, float]

    @classmethod
    def shipped(cls) -> NaiveBayes:
        """The model that ships with the package."""
        path = resources.files("bot.sentiment").joinpath("data", "spanish_model.json")
        data = json.loads(path.read_text("utf-8"))
        return cls(data["prior"], data["ngrams"])

    def contributions(self, text: str) -> list[tuple[float, str]]:
        """Each known n-gram occurrence and its log-odds, as the package's model counts them."""
        tokens = _NB_TOKEN.findall(text.lower())
        found = []
        for size in (1, 2, 3):
            for start in range(len(tokens) - size + 1):
                ngram = " ".join(tokens[start : start + size])
                ratio = self.ngrams.get(ngram)
                if ratio is not None:
                    found.append((ratio, ngram))
        return found

    def log_odds(self, text: str) -> float:
        """Log-odds that the text is positive."""
        return self.prior + sum(ratio for ratio, _ in self.contributions(text))


NEGATORS = frozenset({"no", "nunca", "jamas", "ni", "sin", "tampoco", "nada", "ningun", "ninguna"})
BOOSTERS = frozenset(
    {
        "muy",
        "super",
        "tan",
        "bastante",
        "demasiado",
        "realmente",
        "totalmente",
        "mucho",
        "muchisimo",
        "increiblemente",
        "sumamente",
        "extremadamente",
    }
)
NEGATION_SCOPE = 3
# VADER's constants: a denial flips and dampens a word, a booster adds to it.
NEGATED = -0.74
BOOST = 0.293
# When the lexicon finds no sentiment word, the model decides only on this much evidence in
# all (log-odds) and one n-gram at least this strong, which staff see: it was trained on
# hotel and restaurant reviews, where plain facts ("media hora") lean negative. Chosen on
# tests/data/comments_es.csv; see benchmarks/spanish_eval.py for the figures.
MODEL_EVIDENCE_FROM = 2.0
MODEL_WORD_FROM = 1.5
# The model's log-odds are large (naive Bayes counts every n-gram as independent evidence);
# this scale maps them to a polarity comparable with the lexicon's.
MODEL_SCALE = 8.0


class SpanishReader:
    """Polarity of a Spanish text from the lexicon and the word model (see the module)."""

    def __init__(
        self,
        lexicon: Lexicon,
        emoji: dict[str, float],
        model: NaiveBayes | None = None,
    ) -> None:
        self._valences = lexicon.valences
        self._emoji = emoji
        self._model = model or NaiveBayes.shipped()

    def lexicon_reading(self, text: str, folded: str) -> tuple[float, list[tuple[float, str]]]:
        """VADER's arithmetic on the Spanish valences: the compound and the words used.

        A denial reaches three words within its sentence; after "pero" words count 1.5
        times, before it half, as VADER does with "but".
        """
        tokens = _TOKEN.findall(folded)
        pero = tokens.index("pero") if "pero" in tokens else -1
        total = 0.0
        used: list[tuple[float, str]] = []
        sentence_start = 0
        for index, word in enumerate(tokens):
            if word in _SENTENCE_END:
                sentence_start = index + 1
                continue
            valence = self._valences.get(word)
            if valence is None:
                continue
            shown = word
            if index and tokens[index - 1] in BOOSTERS:
                valence += math.copysign(BOOST, valence)
            if NEGATORS.intersection(tokens[max(sentence_start, index - NEGATION_SCOPE) : index]):
                valence *= NEGATED
                shown = f"no {word}"
            if pero >= 0:
                valence *= 1.5 if index > pero else 0.5
            total += valence
            used.append((valence, shown))
        if not text.isascii():
            for char in text:
                if (valence := self._emoji.get(char)) is not None:
                    total += valence
                    used.append((valence, f"emoji {char}"))
        return total / math.sqrt(total * total + 15), used

    def read(self, text: str, folded: str | None = None) -> Reading:
        """The polarity of a Spanish text and why."""
        folded = fold(text) if folded is None else folded
        compound, used = self.lexicon_reading(text, folded)
        polarity = compound
        leaning = [(v, w) for v, w in used if v * polarity > 0]
        reasons = [f"{w} ({v:+.1f})" for v, w in sorted(leaning, key=lambda p: -abs(p[0]))]
        if compound == 0 and (contributions := self._model.contributions(text)):
            evidence = self._model.prior + sum(ratio for ratio, _ in contributions)
            sign = math.copysign(1.0, evidence)
            strongest = sorted((r * sign, n) for r, n in contributions if r * sign > 0)[::-1]
            if (
                abs(evidence) >= MODEL_EVIDENCE_FROM
                and strongest
                and strongest[0][0] >= MODEL_WORD_FROM
            ):
                polarity = math.tanh(evidence / MODEL_SCALE)
                reasons = [
                    f"model: {ngram}"
                    for weight, ngram in strongest[:3]
                    if weight >= MODEL_WORD_FROM
                ]
        if " pero " in f" {folded} ":
            reasons.append("'pero' clause weighs the second half")
        return Reading(max(-1.0, min(1.0, polarity)), tuple(dict.fromkeys(reasons)))
