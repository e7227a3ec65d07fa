"""Reading English comments: VADER's rules with the clinic's lexicon, and two word models.

VADER's rules (negation, "but" clauses, intensifiers, capitals, exclamation marks) with the
valences of bot/sentiment/data/en.toml and emoji, blended with logistic regressions trained
by scripts/train_sentiment.py, and the words or rules that drove each score, so staff can
see why a comment was flagged.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.domain.models import SentimentLabel
from bot.sentiment.language import ENGLISH, function_words
from bot.sentiment.lexicon import lexicon
from bot.sentiment.reading import Reading


def label_for(polarity: float, negative_below: float, positive_above: float) -> SentimentLabel:
    """The label a polarity gets under the thresholds."""
    if polarity < negative_below:
        return SentimentLabel.NEGATIVE
    if polarity > positive_above:
        return SentimentLabel.POSITIVE
    return SentimentLabel.NEUTRAL


# Valences (VADER's -4..+4 scale) for words patients of aesthetic clinics use, which VADER's
# general lexicon scores neutral ("still swollen and lumpy", "I look frozen").
AESTHETIC_LEXICON: dict[str, float] = lexicon(ENGLISH).valences


class _WindowedVader(SentimentIntensityAnalyzer):  # type: ignore[misc]  # VADER is untyped
    """VADER, with its negation and idiom checks handed only the words they read.

    Both lower-case the whole text for each word they check, which makes a long review
    quadratic. They read at most three words back and two ahead of word `i`, and VADER only
    calls them for i >= 3 (the idiom check) or with look-backs that stay in the text, so a
    window around `i` gives the same results in linear time.
    """

    @staticmethod
    def _negation_check(valence: float, words: list[str], start_i: int, i: int) -> float:
        first = max(0, i - 3)
        return float(
            SentimentIntensityAnalyzer._negation_check(  # noqa: SLF001  # see the class docstring
                valence, words[first : i + 1], start_i, i - first
            )
        )

    @staticmethod
    def _special_idioms_check(valence: float, words: list[str], i: int) -> float:
        if i < 3:  # never called so by VADER; negative indices would wrap to the text's end
            return float(SentimentIntensityAnalyzer._special_idioms_check(valence, words, i))  # noqa: SLF001
        return float(
            SentimentIntensityAnalyzer._special_idioms_check(  # noqa: SLF001
                valence, words[i - 3 : i + 3], 3
            )
        )


def clinic_vader() -> SentimentIntensityAnalyzer:
    """VADER with the clinic's lexicon, for scoring and for training alike."""
    vader = _WindowedVader()
    vader.lexicon.update(AESTHETIC_LEXICON)
    return vader


# Emoji as words VADER already scores, so "😡😡😡" counts like "furious furious furious".
EMOJI_WORDS: dict[str, str] = {
    "😡": "furious",
    "🤬": "furious",
    "😠": "angry",
    "😤": "annoyed",
    "😢": "sad",
    "😭": "crying",
    "😞": "disappointed",
    "😔": "sad",
    "🙁": "sad",
    "☹️": "sad",
    "☹": "sad",
    "😕": "confused",
    "😟": "worried",
    "😩": "miserable",
    "😫": "miserable",
    "🤮": "disgusting",
    "🤢": "disgusting",
    "👎": "bad",
    "💔": "heartbroken",
    "😱": "horrified",
    "😬": "awkward",
    "😍": "love",
    "🥰": "love",
    "😘": "love",
    "❤️": "love",
    "❤": "love",
    "💕": "love",
    "💖": "love",
    "😊": "happy",
    "🙂": "happy",
    "😀": "happy",
    "😃": "happy",
    "😄": "happy",
    "😁": "happy",
    "🤩": "amazing",
    "👍": "good",
    "👌": "good",
    "🙏": "thanks",
    "✨": "wonderful",
    "💯": "perfect",
    "🥳": "celebrate",
    "😌": "relieved",
}
_EMOJI = re.compile("|".join(re.escape(e) for e in sorted(EMOJI_WORDS, key=len, reverse=True)))


_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[!?.,;:]")
_NEGATORS = {"not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "cannot"}
_PUNCTUATION = {".", ",", ";", ":", "!", "?"}
NEGATION_SCOPE = 3


def prepare(text: str) -> str:
    """Emoji become the words VADER scores; the same step for scoring and for training."""
    if text.isascii():  # most comments: no emoji to look for
        return text
    return _EMOJI.sub(lambda match: f" {EMOJI_WORDS[match.group(0)]} ", text)


def word_features(text: str) -> tuple[set[str], int]:
    """Unigrams and bigrams, and how many words the text has.

    Words in a negation's scope are marked ("not_happy").
    """
    tokens: list[str] = []
    scope = 0
    for token in _TOKEN.findall(text.lower()):
        if token in _PUNCTUATION:
            scope = 0
            tokens.append(token)
            continue
        tokens.append(f"not_{token}" if scope else token)
        scope = max(scope - 1, 0)
        if token in _NEGATORS or token.endswith(("n't", "nt")):
            scope = NEGATION_SCOPE
    words = [t for t in tokens if t not in _PUNCTUATION]
    features = {f"w:{word}" for word in words}
    features.update(f"b:{a}_{b}" for a, b in itertools.pairwise(words))
    features.update(f"p:{t}" for t in tokens if t in {"!", "?"})
    return features, len(words)


SHORT_TEXT = 40  # words: a comment (a sentence or two), not a review

_CAPITALS = re.compile(r"\b[A-Z]{3,}\b")  # shouting, which VADER weighs too
# Marks of chat-style writing. In chat, VADER's reading is close to what people mean, so the
# short-text model learns how far to trust it when these are present.
_CHAT_CUES = {
    "cue:emoticon": re.compile(r"(?<!\w)[:;=8][-o^']?[()\[\]DPpO/\\|*](?!\w)|<3"),
    "cue:mention": re.compile(r"@\w"),
    "cue:link": re.compile(r"https?:|www\."),
    "cue:hashtag": re.compile(r"#\w"),
    "cue:capitals": _CAPITALS,
}


def dense_features(text: str, vader: dict[str, float], words: int) -> dict[str, float]:
    """VADER's reading of a text as inputs to the model, with chat cues for short texts.

    A band per fifth of VADER's scale lets a linear model learn that "no sentiment words"
    (compound 0) means something different from "mildly positive".
    """
    compound = vader["compound"]
    dense = {"vader": compound, "vader_neg": vader["neg"], "vader_pos": vader["pos"]}
    if words > SHORT_TEXT:
        return dense
    dense[f"vader_band:{min(int((compound + 1) * 5), 9)}"] = 1.0
    for cue, pattern in _CHAT_CUES.items():
        if pattern.search(text):
            dense[cue] = 1.0
            dense[f"{cue}*vader"] = compound
    return dense


@dataclass(frozen=True)
class LogisticModel:
    """A logistic regression for "is this text negative?" and the cut-off chosen for it."""

    weights: dict[str, float]
    intercept: float
    threshold: float

    def p_negative(self, words: set[str], dense: dict[str, float]) -> float:
        """The probability that a person would call the text negative."""
        weights = self.weights
        total = self.intercept + sum(weights.get(feature, 0.0) for feature in words)
        total += sum(weights.get(name, 0.0) * value for name, value in dense.items())
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, total))))

    def margin(self, words: set[str], dense: dict[str, float]) -> float:
        """How far below (+) or above (-) the negative threshold, scaled to -1..1."""
        return scaled_margin(self.p_negative(words, dense), self.threshold)

    def complaint_words(self, words: set[str], at_least: float) -> list[tuple[float, str]]:
        """Words and word pairs that each push towards negative by `at_least`, strongest first.

        Shown as "not happy" or "too pricey" rather than as features.
        """
        weights = self.weights
        found = [
            (weight, feature)
            for feature in words
            if feature[:2] in {"w:", "b:"} and (weight := weights.get(feature, 0.0)) >= at_least
        ]
        found.sort(key=lambda pair: (-pair[0], pair[1]))
        return [(weight, _shown(feature)) for weight, feature in found]


def _shown(feature: str) -> str:
    return feature[2:].replace("_", " ")  # "w:not_happy", "b:does_not": words hold no "_"


def scaled_margin(p_negative: float, cut: float) -> float:
    """A probability's distance from the cut-off: 1 is surely not negative, -1 surely is."""
    return (cut - p_negative) / (cut if p_negative < cut else 1 - cut)


@dataclass(frozen=True)
class WordModel:
    """The models trained by scripts/train_sentiment.py, and how they meet VADER.

    One model for short comments and one for long reviews, which use words differently.
    `vader_decides_from` is how sure VADER must be (|compound|) to decide a short text alone.
    `evidence_from` is how hard (in log-odds) one word must push towards negative for the
    short-text model to flag a comment on its own: staff always see a word that says why.
    """

    short: LogisticModel
    long: LogisticModel
    vader_decides_from: float
    evidence_from: float

    @classmethod
    def shipped(cls) -> WordModel:
        """The weights that ship with the package."""
        path = resources.files("bot.sentiment").joinpath("data", "english_model.json")
        data = json.loads(path.read_text("utf-8"))
        short, long = (
            LogisticModel(data[size]["weights"], data[size]["intercept"], data[size]["threshold"])
            for size in ("short", "long")
        )
        return cls(short, long, data["vader_decides_from"], data["evidence_from"])

    def for_length(self, words: int) -> LogisticModel:
        """The model for a text of this many words."""
        return self.long if words > SHORT_TEXT else self.short


# A long review spreads its weight over many words, so each counts for less: the words shown
# as reasons for a flagged review need only push this hard.
LONG_REVIEW_REASON = 0.1


def uses_clinic_words(words: set[str], text: str) -> bool:
    """Whether the text has the clinic's own words or emoji.

    They are knowledge the model, trained on other kinds of text, lacks; VADER has them.
    """
    return any(w.removeprefix("w:").removeprefix("not_") in AESTHETIC_LEXICON for w in words) or (
        not text.isascii() and bool(_EMOJI.search(text))
    )


def blend(  # noqa: PLR0913 - the readings and rules that meet here, each named
    compound: float,
    margin: float,
    *,
    long: bool,
    clinic_words: bool,
    vader_decides_from: float,
    complaint_word: bool,
) -> float:
    """One polarity from VADER's compound and the model's margin, for scoring and training.

    A long review is read by its model alone: VADER counts the side effects a happy patient
    lists. In a short text VADER decides when it is sure, or when the text has the clinic's
    own words or emoji (see `uses_clinic_words`). Otherwise the model decides whether it is
    a complaint, and VADER's reading says how positive the rest is. A text without a single
    sentiment word is flagged only on a `complaint_word` (see `WordModel.evidence_from`):
    otherwise "Second session next month" would hang on the model's prior for such texts.
    """
    if long:
        return margin
    if clinic_words or abs(compound) >= vader_decides_from:
        return compound
    evident = compound != 0 or complaint_word
    return margin if margin < 0 and evident else max(compound, 0.0)


class EnglishReader:
    """VADER with the clinic's lexicon and emoji, blended with the trained word models.

    VADER reads the rules of a sentence and decides when it is confident; otherwise the model,
    which has learned what patients mean (a list of side effects from a happy patient,
    "nothing changed" from an unhappy one), decides (see `blend`). The cut-offs were chosen on
    out-of-fold scores of the training rows, never on the held-out rows
    benchmarks/sentiment_eval.py reports.
    """

    def __init__(
        self, negative_below: float, positive_above: float, model: WordModel | None = None
    ) -> None:
        self._negative_below = negative_below
        self._positive_above = positive_above
        self._vader = clinic_vader()
        self._model = model or WordModel.shipped()

    @property
    def lexicon(self) -> dict[str, float]:
        """VADER's lexicon with the clinic's words, for the valence of emoji elsewhere."""
        return dict(self._vader.lexicon)

    def read(self, text: str) -> Reading:
        """Polarity and the reasons behind it."""
        prepared = prepare(text)
        words, word_count = word_features(prepared)
        vader = self._vader.polarity_scores(prepared)
        compound = float(vader["compound"])
        model = self._model.for_length(word_count)
        dense = dense_features(text, vader, word_count)
        long = model is self._model.long
        # A short comment needs its complaint words to be scored; a review only to be explained.
        complaint_words = [] if long else model.complaint_words(words, self._model.evidence_from)
        polarity = blend(
            compound,
            model.margin(words, dense),
            long=long,
            clinic_words=uses_clinic_words(words, text),
            vader_decides_from=self._model.vader_decides_from,
            complaint_word=bool(complaint_words),
        )
        polarity = max(-1.0, min(1.0, polarity))
        label = label_for(polarity, self._negative_below, self._positive_above)
        if long and label is SentimentLabel.NEGATIVE:
            complaint_words = model.complaint_words(words, LONG_REVIEW_REASON)
        return Reading(polarity, self._reasons(text, prepared, words, complaint_words, label))

    def _reasons(
        self,
        text: str,
        prepared: str,
        words: set[str],
        complaint_words: list[tuple[float, str]],
        label: SentimentLabel,
    ) -> tuple[str, ...]:
        reasons: list[str] = []
        sign = -1 if label is SentimentLabel.NEGATIVE else 1
        lexicon = self._vader.lexicon
        leaning: list[tuple[float, str]] = []  # (how hard, shown) for words on the label's side
        for feature in words:
            if not feature.startswith("w:"):
                continue
            word = feature.removeprefix("w:")
            negated = word.startswith("not_")
            valence = lexicon.get(word.removeprefix("not_"), 0.0) * (-1 if negated else 1)
            if valence * sign > 0:
                shown = f"not {word.removeprefix('not_')}" if negated else word
                leaning.append((abs(valence), f"{shown} ({valence:+.1f})"))
        leaning.sort(key=lambda pair: (-pair[0], pair[1]))
        # Strong words explain a score; failing those, the strongest mild one still says why.
        strong = [shown for weight, shown in leaning if weight >= 1.0]
        if label is not SentimentLabel.NEUTRAL:
            reasons += strong or [shown for _, shown in leaning[:1]]
        emoji = [] if text.isascii() else [m.group(0) for m in _EMOJI.finditer(text)]
        if emoji:
            reasons.append("emoji " + "".join(dict.fromkeys(emoji)))
        if label is SentimentLabel.NEGATIVE:
            telling = [
                shown for _, shown in complaint_words if not _FILLER.issuperset(shown.split())
            ]
            reasons += [f"model: {shown}" for shown in telling[:3]]
        if " but " in f" {prepared.lower()} ":
            reasons.append("'but' clause weighs the second half")
        if _CAPITALS.search(text):
            reasons.append("capitals")
        if "!" in text:
            reasons.append("exclamation")
        return tuple(dict.fromkeys(reasons))


# Words that say nothing to staff on their own ("model: for a"), though the model uses them.
_FILLER = function_words()[ENGLISH] - {"not", "but", "very", "so"} | {"a", "an"}
