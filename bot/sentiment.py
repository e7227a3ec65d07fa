"""Sentiment scoring of free-text answers.

`TextBlobScorer` is the baseline. `ClinicScorer` is what the bot uses: VADER's rules
(negation, "but" clauses, intensifiers, capitals, exclamation marks) with a lexicon for
aesthetic treatments and emoji, and the words or rules that drove each score, so staff can
see why a comment was flagged.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources

from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.domain.models import Sentiment, SentimentLabel
from bot.domain.topics import safety_terms, topics


def _label(polarity: float, negative_below: float, positive_above: float) -> SentimentLabel:
    if polarity < negative_below:
        return SentimentLabel.NEGATIVE
    if polarity > positive_above:
        return SentimentLabel.POSITIVE
    return SentimentLabel.NEUTRAL


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
        """Polarity in [-1, 1] and a label."""
        polarity = float(TextBlob(text).sentiment.polarity)
        polarity = max(-1.0, min(1.0, polarity))
        return Sentiment(
            round(polarity, 4), _label(polarity, self._negative_below, self._positive_above)
        )


# Valences on VADER's -4..+4 scale for words patients of aesthetic clinics use; VADER's
# general lexicon scores them neutral ("still swollen and lumpy", "I look frozen").
AESTHETIC_LEXICON: dict[str, float] = {
    "swollen": -1.6,
    "swelling": -1.3,
    "puffy": -1.2,
    "lumpy": -2.0,
    "lump": -1.6,
    "lumps": -1.6,
    "bumpy": -1.4,
    "bruise": -1.3,
    "bruised": -1.5,
    "bruising": -1.4,
    "bruises": -1.3,
    "asymmetric": -1.8,
    "asymmetrical": -1.8,
    "asymmetry": -1.8,
    "uneven": -1.6,
    "lopsided": -2.0,
    "frozen": -1.6,
    "expressionless": -1.8,
    "droopy": -2.2,
    "drooping": -2.2,
    "droop": -2.0,
    "sagging": -1.6,
    "overfilled": -2.2,
    "overdone": -2.0,
    "unnatural": -2.0,
    "fake": -1.8,
    "duck": -1.0,
    "burned": -2.4,
    "burnt": -2.4,
    "burns": -2.0,
    "blister": -2.2,
    "blisters": -2.2,
    "blistering": -2.4,
    "scar": -1.8,
    "scarring": -2.0,
    "scarred": -2.0,
    "infection": -2.6,
    "infected": -2.6,
    "pus": -2.4,
    "bleeding": -2.2,
    "numb": -1.2,
    "rash": -1.6,
    "itchy": -1.4,
    "rushed": -1.6,
    "overpriced": -2.2,
    "overcharged": -2.4,
    "pricey": -0.8,
    "dismissive": -2.0,
    "unprofessional": -2.6,
    "cancelled": -1.2,
    "waited": -0.6,
    "waiting": -0.4,
    "late": -0.8,
    "nothing": -0.3,
    "worse": -2.1,
    "refund": -1.4,
    "natural": 1.6,
    "refreshed": 1.8,
    "subtle": 1.0,
    "glowing": 2.0,
    "radiant": 2.2,
    "smooth": 1.2,
    "rejuvenated": 2.0,
    "younger": 1.4,
    "gentle": 1.6,
    "reassuring": 1.8,
    "painless": 1.8,
    "professional": 1.6,
    "knowledgeable": 1.8,
    "spotless": 1.6,
    "attentive": 1.8,
    "thorough": 1.4,
    "recommend": 1.5,
    "recommended": 1.4,
}


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
        data = json.loads(
            resources.files("bot").joinpath("sentiment_model.json").read_text("utf-8")
        )
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


class ClinicScorer:
    """VADER with the clinic's lexicon and emoji, blended with the trained word models.

    VADER reads the rules of a sentence and decides when it is confident; otherwise the model,
    which has learned what patients mean (a list of side effects from a happy patient,
    "nothing changed" from an unhappy one), decides (see `blend`). The cut-offs were chosen on
    out-of-fold scores of the training rows, never on the held-out rows
    benchmarks/sentiment_eval.py reports.
    """

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
        self._vader = clinic_vader()
        self._model = model or WordModel.shipped()

    def score(self, text: str) -> Sentiment:
        """Polarity in [-1, 1], a label, topics, and the reasons behind them."""
        prepared = prepare(text)
        complications = safety_terms(text)
        found_topics = topics(text, complications)
        safety = tuple(f"possible complication: {term}" for term in complications)
        words, word_count = word_features(prepared)
        if other_language(text):
            reasons = ("not English: not scored", *safety)
            return Sentiment(0.0, SentimentLabel.UNKNOWN, found_topics, reasons)
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
        label = _label(polarity, self._negative_below, self._positive_above)
        if long and label is SentimentLabel.NEGATIVE:
            complaint_words = model.complaint_words(words, LONG_REVIEW_REASON)
        return Sentiment(
            round(polarity, 4),
            label,
            found_topics,
            (*safety, *self._reasons(text, prepared, words, complaint_words, label))[:MAX_REASONS],
        )

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


# Function words of the languages patients of a clinic most often write in besides English:
# a text using them more than English ones is in a language the scorer does not read.
_FUNCTION_WORDS = {
    "en": "the and is was were are i my it to of in with for but not very so this that you "
    "they we had have has be been at on me your",
    "es": "el los las y que muy fue es con por para una pero mi lo del al está estaba son "
    "estoy tengo",
    "fr": "les et est très pas je mon des une du était avec pour mais ce cette qui suis",
    "de": "der die das und ist war sehr nicht ich mit zu viel mein meine aber ein eine bin",
    "it": "il è molto non per ma sono stato della gli ho mia",
    "pt": "os é muito não com mas foi uma estou minha",
}
# Words that say nothing to staff on their own ("model: for a"), though the model uses them.
_FILLER = frozenset(_FUNCTION_WORDS["en"].split()) - {"not", "but", "very", "so"} | {"a", "an"}
_LANGUAGES_OF: dict[str, list[str]] = {}
for _language, _words in _FUNCTION_WORDS.items():
    for _word in _words.split():
        _LANGUAGES_OF.setdefault(_word, []).append(_language)
_LETTER = re.compile(r"[^\W\d_]")
_LATIN_LETTER = re.compile("[abcdefghijklmnopqrstuvwxyzáéíóúñüàèìòùâêîôûçäößãõ]")
_WORD = re.compile(r"[^\W\d_]+")


def other_language(text: str) -> bool:
    """Whether the text is, by its script or its function words, not English."""
    lowered = text.lower()
    letters = 0 if lowered.isascii() else len(_LETTER.findall(lowered))  # ASCII is Latin
    if letters and len(_LATIN_LETTER.findall(lowered)) < letters / 2:
        return True  # Cyrillic, Arabic, Chinese...
    counts = Counter(
        language for word in _WORD.findall(lowered) for language in _LANGUAGES_OF.get(word, ())
    )
    english = counts.pop("en", 0)
    foreign = max(counts.values(), default=0)
    return foreign >= 2 and foreign > english


MAX_REASONS = 6
