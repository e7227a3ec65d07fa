"""What a comment is about: topic tags, and the safety lane for possible complications."""

from __future__ import annotations

import re

SAFETY = "safety"

# Possible complications of aesthetic treatments. Any of these, not negated, is raised to
# staff as a clinical alert: the bot never judges how serious it is.
SAFETY_TERMS: tuple[str, ...] = (
    "bleeding",
    "bleeds",
    "bled",
    "infection",
    "infected",
    "pus",
    "oozing",
    "abscess",
    "blister",
    "blisters",
    "blistering",
    "vision",
    "blurry",
    "blurred",
    "double vision",
    "can't see",
    "cannot see",
    "blind",
    "severe pain",
    "worsening pain",
    "pain is getting worse",
    "pain getting worse",
    "getting worse",
    "unbearable",
    "drooping eyelid",
    "droopy eyelid",
    "eyelid is drooping",
    "eyelid drooping",
    "ptosis",
    "turned white",
    "turning white",
    "white patch",
    "gone white",
    "turned grey",
    "turning grey",
    "turned gray",
    "turning gray",
    "grey skin",
    "gray skin",
    "dusky",
    "lump",
    "lumps",
    "lumpy",
    "hard lump",
    "nodule",
    "fever",
    "allergic",
    "hives",
    "can't breathe",
    "cannot breathe",
    "necrosis",
    "burned",
    "burnt",
)

TOPIC_TERMS: dict[str, tuple[str, ...]] = {
    "staff": (
        "staff",
        "nurse",
        "doctor",
        "dr",
        "receptionist",
        "reception",
        "practitioner",
        "injector",
        "therapist",
        "team",
        "rude",
        "friendly",
        "kind",
        "professional",
        "unprofessional",
        "dismissive",
        "attentive",
    ),
    "wait": ("wait", "waited", "waiting", "late", "delay", "delayed", "on time", "punctual"),
    "price": (
        "price",
        "prices",
        "cost",
        "costs",
        "expensive",
        "cheap",
        "overpriced",
        "money",
        "paid",
        "pay",
        "value",
        "refund",
        "charged",
        "overcharged",
        "pricey",
    ),
    "results": (
        "result",
        "results",
        "natural",
        "frozen",
        "lumpy",
        "uneven",
        "asymmetric",
        "asymmetry",
        "effect",
        "worked",
        "wrinkles",
        "lines",
        "overfilled",
        "subtle",
        "refreshed",
        "looks",
        "look",
        "nothing changed",
        "nothing has changed",
        "no change",
        "difference",
        "wore off",
        "faded",
    ),
    "pain": ("pain", "painful", "hurt", "hurts", "sore", "ache", "sting", "stung", "painless"),
    "cleanliness": ("clean", "dirty", "hygiene", "hygienic", "spotless", "messy", "sterile"),
    "booking": (
        "book",
        "booking",
        "booked",
        "appointment",
        "schedule",
        "reschedule",
        "cancelled",
        "canceled",
        "online",
    ),
    "communication": (
        "explain",
        "explained",
        "told",
        "call",
        "called",
        "answer",
        "answered",
        "email",
        "message",
        "information",
        "informed",
        "consultation",
        "listen",
        "listened",
    ),
}

_NEGATION = re.compile(r"\b(no|not|never|without|nor|isn't|wasn't|didn't|don't|hasn't|haven't)\b")


def _pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """One search for all the terms, longest first, as whole words."""
    alternatives = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w'])(?:{alternatives})(?![\w'])")


_SAFETY = _pattern(SAFETY_TERMS)
# A one-word term matches exactly when it is a whole run of word characters and apostrophes,
# so a set lookup finds those; only the few phrases need a search.
_RUN = re.compile(r"[\w']+")
_TOPICS_OF_WORD: dict[str, list[str]] = {}
for _topic, _terms in TOPIC_TERMS.items():
    for _term in _terms:
        if _RUN.fullmatch(_term):
            _TOPICS_OF_WORD.setdefault(_term, []).append(_topic)
_PHRASES = {
    topic: _pattern(phrases)
    for topic, terms in TOPIC_TERMS.items()
    if (phrases := tuple(term for term in terms if not _RUN.fullmatch(term)))
}


def _negated(text: str, position: int) -> bool:
    """Whether the words just before `position` deny it ("no bleeding", "not infected")."""
    before = text[max(0, position - 25) : position]
    clause = re.split(r"[.,;:!?]| but ", before)[-1]
    return bool(_NEGATION.search(clause))


def safety_terms(text: str) -> list[str]:
    """The possible complications a text mentions (and does not deny), in order."""
    lowered = text.lower()
    found = (m.group(0) for m in _SAFETY.finditer(lowered) if not _negated(lowered, m.start()))
    return list(dict.fromkeys(found))


def topics(text: str, complications: list[str] | None = None) -> tuple[str, ...]:
    """The topics a comment touches, in a fixed order, `safety` first if it applies.

    `complications` are `safety_terms(text)` if the caller has them already.
    """
    lowered = text.lower()
    if complications is None:
        complications = safety_terms(text)
    hit = {
        topic
        for word in set(_RUN.findall(lowered)).intersection(_TOPICS_OF_WORD)
        for topic in _TOPICS_OF_WORD[word]
    }
    hit.update(t for t, phrases in _PHRASES.items() if t not in hit and phrases.search(lowered))
    found = [SAFETY] if complications else []
    found += [topic for topic in TOPIC_TERMS if topic in hit]
    return tuple(found)
