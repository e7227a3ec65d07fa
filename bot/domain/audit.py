"""The audit trail: who looked at or did what with patients' data, in a chain of hashes.

Each entry's hash covers the entry and the hash of the one before, so an entry changed,
deleted or slipped in afterwards breaks the chain from there on (`AuditService.verify`
finds where).
Entries name patients by pseudonym and never hold what a patient wrote.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

GENESIS = "0" * 64
"""The hash before the first entry."""


class AuditAction(StrEnum):
    """What was done or looked at."""

    SUMMARY = "summary"
    CASES = "cases"
    TREND = "trend"
    EXPORT = "export"
    COMMENTS = "comments"
    BREAKDOWNS = "breakdowns"
    CASE_VIEWED = "case_viewed"
    CLAIM = "claim"
    REPLY = "reply"
    RESOLVE = "resolve"
    NOTE = "note"
    BACKUP = "backup"
    COPY_DB = "copy_db"
    FORGET = "forget"
    RETENTION = "retention"
    VISIT_RECEIVED = "visit_received"
    AUDIT_READ = "audit_read"
    AUDIT_PRUNED = "audit_pruned"


COMMAND_LINE = "command line"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who: a Telegram user (by id), someone at the command line (by OS user), or a system.

    A system is named by what it is: a booking system by its intake token's fingerprint,
    the bot's own retention, a patient erasing themselves (by no id: what they asked to
    have forgotten must not stay here).
    """

    telegram_id: int | None = None
    os_user: str | None = None
    system: str | None = None

    def __str__(self) -> str:
        if self.telegram_id is not None:
            return str(self.telegram_id)
        if self.system is not None:
            return self.system
        return f"{COMMAND_LINE} ({self.os_user or 'unknown'})"


RETENTION_ACTOR = Actor(system="retention")
"""The bot itself, erasing what is older than the clinic keeps."""
A_PATIENT = Actor(system="a patient")
"""A patient erasing their own data with /forget: counted, never named."""


def token_fingerprint(token: str) -> str:
    """How the trail names an intake token: the start of its SHA-256, never the token.

    The operator finds which token it was with `printf %s "$TOKEN" | sha256sum`.
    """
    return "intake token " + hashlib.sha256(token.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where the kept trail begins once retention removed older entries.

    The last removed entry's number and hash: the first kept entry must chain from it.
    """

    number: int
    hash: str


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The trail's head, owed to the staff chat once a day so that a copy lives outside."""

    day: date
    number: int
    hash: str
    failed_attempts: int = 0


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One thing done: when, who, what, to what, how much.

    The subject is a pseudonym or a case number, the detail a period or counts: never
    patient text.
    """

    at: datetime
    actor: str
    action: str
    subject: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as the trail keeps it: its number and the hash stored with it."""

    number: int
    entry: AuditEntry
    hash: str


def chained(previous: str, entry: AuditEntry) -> str:
    """The hash of an entry following the one whose hash is `previous`."""
    fields = [previous, entry.at.isoformat(), entry.actor, entry.action]
    fields += [entry.subject, entry.detail]
    canonical = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first stored entry whose hash is not that of its content and the one before.

    Changed, deleted (the next entry names a previous hash that is gone) or inserted: the
    chain cannot tell which, only where it stops holding.
    """

    number: int
