"""Lexicons as data: one commented TOML file per language the scorer reads.

A file lists, in patients' own words, the possible complications (the safety lane), the topics
a comment touches, complaints that carry no sentiment word, sarcasm, and the small words that
change what a term means: negation, "still", "getting worse", "fine now". This module
validates a file, compiles its patterns once, and finds them in a text. It decides nothing
about sentiment; the scorers do.

Pattern syntax, shared by every list (see bot/sentiment/data/en.toml):

- words are matched whole, ignoring case and accents ("hinchazon" finds "hinchazón");
- `blister*` matches any word that begins so (blister, blisters, blistered, blistering);
- `lid|eyelid|brow` matches any one of the words, and `_` joins the words of a phrase inside
  such a list: `reaction*|side_effect*`;
- `..` stands for up to three other words (never across the end of a sentence);
- `<n>` is a number, in digits or in words; `<many>` is one of at least 15 (a long wait).
"""

from __future__ import annotations

import bisect
import re
import tomllib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

Pattern = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Patterns = Annotated[list[Pattern], Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SafetyCategory(_Strict):
    """One kind of possible complication, in the words patients use for it."""

    id: str
    label: str
    """What staff read next to the patient's words ("vision change")."""
    terms: list[Pattern] = []
    """Raised whenever they are not denied ("blistered", "pus", "blurry vision")."""
    weak: list[Pattern] = []
    """Raised only with an escalation nearby ("swelling" + "still", "pain" + "worse")."""
    may_pass: bool = False
    """Whether a sentence that says it passed ("a little redness for an hour, fine now")
    clears it."""


class Complaint(_Strict):
    """A complaint that needs no sentiment word: "waited 45 minutes", "never came"."""

    topic: str
    reason: str
    """What staff read ("a long wait"), next to the patient's words."""
    patterns: Patterns


class Negation(_Strict):
    """Words that deny what follows them, and how far that reaches."""

    before: Patterns
    scope: int = Field(3, ge=1, le=6)
    """How many words back a denial reaches; list words do not count."""
    list_words: list[Pattern] = []
    """Words that join a list ("no bruising, swelling or redness") and so extend the scope."""
    after: list[Pattern] = []
    """Words right after a term that deny it ("bleeding: none")."""
    hypothetical: list[Pattern] = []
    """Words that make a term a possibility, not what happened: "risk of infection"."""
    hypothetical_scope: int = Field(6, ge=1, le=10)
    """How many words back those reach: "worried that my eyelid would droop"."""


class Context(_Strict):
    """Words that change what a term means: how bad, how long, that it passed."""

    clause_breaks: Patterns
    """A denial never reaches across these ("no bruising but my eyelid droops")."""
    escalations: Patterns
    """Turn an expected effect into a reason to call: how bad, worse, spreading."""
    lasting: Patterns
    """That an effect lasts ("still", "for two weeks"), unless played down."""
    mild: Patterns
    """Playing an effect down, just before it ("a little swelling")."""
    passed: Patterns
    """That it passed ("fine now"): clears effects that may pass."""
    several: int = Field(4, ge=2)
    """This many different expected effects at once are a reason to call, even unqualified."""
    several_label: str
    """What staff read for those ("several symptoms at once")."""


class LexiconFile(_Strict):
    """The file as written; `Lexicon.load` validates it and compiles the patterns."""

    language: str = Field(pattern=r"^[a-z]{2}$")
    ignore: list[Pattern] = []
    """Phrases whose words never count as a term: "hay fever", "heartburn"."""
    numbers: Patterns
    many: Patterns
    negation: Negation
    context: Context
    safety: Annotated[list[SafetyCategory], Field(min_length=1)]
    topics: dict[str, Patterns]
    complaints: list[Complaint] = []
    sarcasm: list[Pattern] = []
    valences: dict[str, float] = {}
    """Words and how positive (+) or negative (-) they are, on VADER's -4..+4 scale."""


class LexiconError(ValueError):
    """A lexicon file that cannot be used, with what is wrong and where."""


# Typographic apostrophes (as phones type them) read as the plain one.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})


def fold(text: str) -> str:
    """Lower case without accents, one character for one, so offsets stay the same."""
    text = text.translate(_FOLD)
    if text.isascii():
        return text.lower()
    folded = []
    for char in text:
        lower = char.lower()
        base = unicodedata.normalize("NFKD", lower)[:1] if not lower.isascii() else lower
        folded.append(base if len(lower) == 1 and base else char)
    return "".join(folded)


_WORD = r"\w+(?:'\w+)*"
_SEP = r"[^\w.!?;\n]+"
_WORDS = re.compile(_WORD)
_SENTENCE_END = re.compile(r"[.!?;\n]+")
_GAP = f"{_SEP}(?:{_WORD}{_SEP}){{0,3}}"
_TOKEN = re.compile(r"^(?:<n>|<many>|[\w'&+-]+\*?(?:\|[\w'&+-]+\*?)*)$")  # \w includes _
_NUMERIC = ("<n>", "<many>")
_GAP_TOKEN = ".."  # noqa: S105 - a pattern word, not a password
# At least 15, in digits: a wait of 15 minutes or more is a complaint, 5 is not.
_MANY_DIGITS = r"(?:1[5-9]|[2-9]\d|\d{3,})"


def _token_regex(token: str, numbers: str, many: str) -> str:
    if token == _NUMERIC[0]:
        return rf"(?:\d+|{numbers})"
    if token == _NUMERIC[1]:
        return rf"(?:{_MANY_DIGITS}|{many})"
    alternatives = []
    for word in token.split("|"):
        words = [re.escape(fold(part)) for part in word.removesuffix("*").split("_")]
        alternatives.append(_SEP.join(words) + (r"[\w']*" if word.endswith("*") else ""))
    return "(?:" + "|".join(alternatives) + ")"


def pattern_regex(pattern: str, numbers: str = "", many: str = "") -> str:
    """The regular expression for one pattern (see the module's docstring)."""
    parts: list[str] = []
    tokens = pattern.split()
    for index, token in enumerate(tokens):
        if token == _GAP_TOKEN:
            if index in {0, len(tokens) - 1}:
                raise ValueError(f"{pattern!r}: '..' must stand between two words")
            parts.append(_GAP)
            continue
        if not _TOKEN.match(token):
            raise ValueError(f"{pattern!r}: cannot read {token!r}")
        if parts and parts[-1] != _GAP:
            parts.append(_SEP)
        parts.append(_token_regex(token, numbers, many))
    return r"(?<![\w'])" + "".join(parts) + r"(?!'?\w)"


Key = TypeVar("Key")


@dataclass(frozen=True, slots=True)
class Found(Generic[Key]):
    """A pattern found in a text: what it belongs to, and where."""

    key: Key
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Term:
    """What a safety pattern stands for: its kind, and whether it needs an escalation."""

    category: SafetyCategory
    weak: bool


class PatternSet(Generic[Key]):
    """Patterns, each with a key, tried only where their first word stands.

    One alternation of hundreds of patterns would be tried at every character; indexing
    them by first word keeps scoring a comment well under a millisecond.
    """

    def __init__(self, keyed: list[tuple[Key, str]], numbers: list[str], many: list[str]) -> None:
        number_words = [fold(n) for n in numbers]
        numbers_regex = "|".join(re.escape(n) for n in number_words)
        many_regex = "|".join(re.escape(fold(n)) for n in many)
        self._number_words = frozenset(word for n in number_words for word in n.split())
        self._exact: dict[str, list[tuple[Key, re.Pattern[str]]]] = {}
        self._prefixes: dict[str, list[tuple[Key, re.Pattern[str]]]] = {}
        self._numeric: list[tuple[Key, re.Pattern[str]]] = []
        for key, pattern in keyed:
            candidate = (key, re.compile(pattern_regex(pattern, numbers_regex, many_regex)))
            first = pattern.split()[0]
            if first in _NUMERIC:
                self._numeric.append(candidate)
                continue
            for alternative in first.split("|"):
                head = fold(alternative.removesuffix("*").split("_")[0])
                prefix = alternative.endswith("*") and "_" not in alternative
                (self._prefixes if prefix else self._exact).setdefault(head, []).append(candidate)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._prefixes})

    def _candidates(self, word: str) -> list[tuple[Key, re.Pattern[str]]]:
        found = list(self._exact.get(word, ()))
        for length in self._prefix_lengths:
            if length > len(word):
                break
            found += self._prefixes.get(word[:length], ())
        if self._numeric and (word.isdigit() or word in self._number_words):
            found += self._numeric
        return found

    def finditer(
        self, folded: str, start: int = 0, end: int | None = None
    ) -> Iterator[Found[Key]]:
        """The longest match at each word, left to right, never overlapping."""
        end = len(folded) if end is None else end
        free_from = start
        for word in _WORDS.finditer(folded, start, end):
            if word.start() < free_from:
                continue
            best: Found[Key] | None = None
            for key, regex in self._candidates(word.group(0)):
                match = regex.match(folded, word.start(), end)
                if match and (best is None or match.end() > best.end):
                    best = Found(key, match.start(), match.end())
            if best is not None:
                free_from = best.end
                yield best

    def search(self, folded: str, start: int = 0, end: int | None = None) -> Found[Key] | None:
        """The first match between `start` and `end`."""
        return next(self.finditer(folded, start, end), None)


class _Words:
    """Where each word and sentence of a folded text is, for distances and denials."""

    def __init__(self, folded: str) -> None:
        self.text = folded
        spans = [(m.start(), m.end()) for m in _WORDS.finditer(folded)]
        self.starts = [start for start, _ in spans]
        self.ends = [end for _, end in spans]
        ends = [(m.start(), m.end()) for m in _SENTENCE_END.finditer(folded)]
        self.sentence_ends = [start for start, _ in ends]
        self.sentence_starts = [0, *(end for _, end in ends)]

    def index(self, position: int) -> int:
        """The index of the word at or after a character position."""
        return bisect.bisect_left(self.ends, position + 1)

    def sentence(self, position: int) -> tuple[int, int]:
        """Where the sentence around a character position starts and ends."""
        number = bisect.bisect_right(self.sentence_ends, position)
        end = self.sentence_ends[number] if number < len(self.sentence_ends) else len(self.text)
        return self.sentence_starts[number], end


class Lexicon:
    """One language's lexicon, compiled: finds complications, topics and complaints."""

    def __init__(self, data: LexiconFile) -> None:
        self.data = data
        self.language = data.language

        def plain(each: list[str]) -> PatternSet[None]:
            return PatternSet([(None, pattern) for pattern in each], data.numbers, data.many)

        self.categories = {category.id: category for category in data.safety}
        self._terms = PatternSet(
            [
                (Term(category, weak), pattern)
                for category in data.safety
                for weak, patterns in ((False, category.terms), (True, category.weak))
                for pattern in patterns
            ],
            data.numbers,
            data.many,
        )
        self._topics = PatternSet(
            [(topic, pattern) for topic, patterns in data.topics.items() for pattern in patterns],
            data.numbers,
            data.many,
        )
        self._complaints = PatternSet(
            [(c, pattern) for c in data.complaints for pattern in c.patterns],
            data.numbers,
            data.many,
        )
        self._negators = plain(data.negation.before)
        self._hypothetical = plain(data.negation.hypothetical)
        self._ignored = plain(data.ignore)
        self._list_words = frozenset(fold(word) for word in data.negation.list_words)
        self._denied_after = plain(data.negation.after)
        context = data.context
        self._clause_breaks = plain(context.clause_breaks)
        self._escalations = plain(context.escalations)
        self._lasting = plain(context.lasting)
        self._mild = plain(context.mild)
        self._passed = plain(context.passed)
        self._sarcasm = plain(data.sarcasm)
        self.valences = {fold(word): value for word, value in data.valences.items()}

    @classmethod
    def load(cls, language: str) -> Self:
        """The built-in lexicon for a language, validated; a clear error if it is broken."""
        name = f"{language}.toml"
        text = resources.files("bot.sentiment").joinpath("data", name).read_text("utf-8")
        return cls.parse(text, name)

    @classmethod
    def parse(cls, text: str, name: str) -> Self:
        """A lexicon from a file's text; `LexiconError` names the file and the problem."""
        try:
            data = LexiconFile.model_validate(tomllib.loads(text))
            lexicon = cls(data)
        except tomllib.TOMLDecodeError as error:
            raise LexiconError(f"{name}: not valid TOML: {error}") from None
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise LexiconError(f"{name}: {problems}") from None
        except (ValueError, re.error) as error:
            raise LexiconError(f"{name}: {error}") from None
        unknown = {c.topic for c in data.complaints} - set(data.topics)
        if unknown:
            raise LexiconError(f"{name}: complaints name unknown topics {sorted(unknown)}")
        return lexicon

    # --- what a text says ---

    def denied(self, words: _Words, start: int, end: int) -> bool:
        """Whether the words just before (or right after) a term deny it."""
        gap = _AFTER.match(words.text, end)  # "bleeding: none", "swelling - no"
        next_start = end if gap is None else gap.end()
        denial = self._denied_after.search(words.text, next_start, next_start + 12)
        if denial is not None and denial.start == next_start:
            return True
        clause_start, _ = words.sentence(start)
        for match in self._clause_breaks.finditer(words.text, clause_start, start):
            clause_start = match.end
        negation = self.data.negation
        return self._within(self._negators, words, clause_start, start, negation.scope) or (
            self._within(
                self._hypothetical, words, clause_start, start, negation.hypothetical_scope
            )
        )

    def _within(
        self, patterns: PatternSet[None], words: _Words, clause_start: int, start: int, scope: int
    ) -> bool:
        """Whether `patterns` stand within `scope` words before `start`, in its clause.

        List words ("or", "any") are not counted: "no bruising, swelling or redness".
        """
        index = words.index(start) - 1
        counted = 0
        first = start
        while index >= 0 and words.starts[index] >= clause_start:
            if words.text[words.starts[index] : words.ends[index]] not in self._list_words:
                counted += 1
                if counted > scope:
                    break
            first = words.starts[index]
            index -= 1
        return patterns.search(words.text, first, start) is not None

    def _near(
        self,
        patterns: PatternSet[None],
        words: _Words,
        found: Found[Term],
        after: int,
        before: int,
    ) -> Found[None] | None:
        """An undenied match near `found`: in its sentence, no clause break between.

        At most `after` words after it, or `before` words before it.
        """
        sentence_start, sentence_end = words.sentence(found.start)
        first_word, last_word = words.index(found.start), words.index(found.end - 1)
        for match in patterns.finditer(words.text, sentence_start, sentence_end):
            if match.start < found.end and match.end > found.start:
                continue  # the term itself ("painful" is both)
            if match.start >= found.end:
                near = words.index(match.start) - last_word <= after
                between = (found.end, match.start)
            else:
                near = first_word - words.index(match.end - 1) <= before
                between = (match.end, found.start)
            if (
                near
                and self._clause_breaks.search(words.text, *between) is None
                and not self.denied(words, match.start, match.end)
            ):
                return match
        return None

    def _without_ignored(self, folded: str) -> str:
        for match in self._ignored.finditer(folded):
            folded = folded[: match.start] + "_" * (match.end - match.start) + folded[match.end :]
        return folded

    def complications(self, text: str, folded: str | None = None) -> list[Complication]:
        """The possible complications a text mentions and does not deny, in order."""
        folded = self._without_ignored(fold(text) if folded is None else folded)
        found = list(self._terms.finditer(folded))
        if not found:
            return []
        words = _Words(folded)
        result: list[Complication] = []
        unqualified: dict[str, str] = {}  # weak terms with no escalation: folded -> as written
        for term in found:
            category = term.key.category
            if self.denied(words, term.start, term.end):
                continue
            if category.may_pass and self._near(self._passed, words, term, *PASSED_REACH):
                continue
            start, end = term.start, term.end
            if term.key.weak:
                mildly = self._mildly(words, term)
                escalation = self._near(self._escalations, words, term, *ESCALATION_REACH)
                if escalation is None and not mildly:
                    escalation = self._near(self._lasting, words, term, *ESCALATION_REACH)
                if escalation is None:
                    if not mildly:
                        unqualified.setdefault(folded[start:end], text[start:end])
                    continue
                start, end = min(start, escalation.start), max(end, escalation.end)
            result.append(Complication(category.id, category.label, text[start:end]))
        context = self.data.context
        if len(unqualified) >= context.several:
            shown = ", ".join(unqualified.values())
            result.append(Complication("several", context.several_label, shown))
        return list(dict.fromkeys(result))

    def _mildly(self, words: _Words, term: Found[Term]) -> bool:
        """Whether the term is played down ("a little swelling"), so "still" is expected."""
        index = words.index(term.start)
        first = words.starts[max(0, index - 2)] if index else term.start
        return self._mild.search(words.text, first, term.start) is not None

    def topics(self, folded: str) -> set[str]:
        """The topics a text touches (not the safety lane)."""
        return {found.key for found in self._topics.finditer(self._without_ignored(folded))}

    def complaints(self, text: str, folded: str) -> list[tuple[Complaint, str]]:
        """Complaints without sentiment words that the text makes, with its words for them."""
        result = []
        words: _Words | None = None
        for found in self._complaints.finditer(folded):
            words = words or _Words(folded)
            if not self.denied(words, found.start, found.end):
                result.append((found.key, text[found.start : found.end]))
        return result

    def sarcasm(self, folded: str) -> str | None:
        """A marker of sarcasm ("oh great", "loved it") in the text, if any."""
        found = self._sarcasm.search(folded)
        return None if found is None else folded[found.start : found.end]


_AFTER = re.compile(r"[\s:=-]{0,3}")
# A sentence that says an effect passed clears it when said this near (words after, before).
PASSED_REACH = (12, 12)
# How many words after ("swelling that is getting worse") and before ("still swollen",
# "severe pain") the term an escalation may stand. Further before, it tends to qualify
# something else: "the wait was horrible and I have some swelling".
ESCALATION_REACH = (6, 2)


@dataclass(frozen=True, slots=True)
class Complication:
    """A possible complication as the patient put it, and what kind it is."""

    category: str
    label: str
    words: str

    @property
    def reason(self) -> str:
        """What staff read."""
        return f"possible complication: {self.words} ({self.label})"


@cache
def lexicon(language: str) -> Lexicon:
    """The built-in lexicon for a language, loaded once."""
    return Lexicon.load(language)
