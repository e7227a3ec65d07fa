"""The schema, once: every table as SQLAlchemy Core metadata, for SQLite and PostgreSQL alike.

What the migrations build (SQLite's 1 to 13, then Alembic's revisions for both) must equal
this: `tests/test_schema.py` runs Alembic's `compare_metadata` against a freshly migrated
SQLite file and PostgreSQL database. New revisions are written against it, and code that
needs the list of tables or a table's columns (copy-db, the daily totals) reads it here.

Times are UTC ISO-8601 text on both backends (the stores compare and slice them as text).
Integers are BIGINT on PostgreSQL (Telegram's ids exceed 32 bits) and INTEGER on SQLite,
where an `INTEGER PRIMARY KEY` is the rowid.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    column,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION
from sqlalchemy.dialects.sqlite import REAL

metadata = MetaData()

# BIGINT on PostgreSQL, INTEGER on SQLite (the rowid's type, 64 bits there anyway).
Int = BigInteger().with_variant(Integer(), "sqlite")
Real = Float().with_variant(DOUBLE_PRECISION(), "postgresql").with_variant(REAL(), "sqlite")
POSTGRESQL_ONLY = "postgresql_only"
"""`info` key of a column or index only PostgreSQL has (SQLite keeps the same fact, or does
the same job, another way)."""


def _id() -> Column[int]:
    """An integer key the database assigns: SQLite's rowid, PostgreSQL's identity column."""
    return Column("id", Int, Identity(), primary_key=True)


def _zero(name: str) -> Column[int]:
    return Column(name, Int, nullable=False, server_default=text("0"))


def _partial(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of the rows matching `where` only, on both backends."""
    condition = text(where)
    return Index(name, *columns, unique=unique, sqlite_where=condition, postgresql_where=condition)


def _in(column: str, *values: str) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})")


patients = Table(
    "patients",
    metadata,
    _id(),
    Column("external_id", Int, nullable=False, unique=True),
    Column("pseudonym", Text, nullable=False, unique=True),
    Column("consented_at", Text, nullable=False),
    Column("language", Text),
    Column("last_followup_at", Text),
    Column("followups_stopped_at", Text),
    Column("blocked_at", Text),
)

visits = Table(
    "visits",
    metadata,
    _id(),
    Column("code", Text, unique=True),
    Column("survey_id", Text, nullable=False),
    Column("treatment", Text),
    Column("provider", Text),
    Column("location", Text),
    Column("visit_date", Text),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text),
    Column("patient_id", Int, ForeignKey("patients.id", ondelete="SET NULL")),
    Column("used_at", Text),
    Index("visits_by_creation", "created_at"),
    Index("visits_by_names", "provider", "treatment", "location"),
    _partial("visits_invitations_by_creation", "created_at", where="code IS NOT NULL"),
)

responses = Table(
    "responses",
    metadata,
    Column("id", Text, primary_key=True),
    Column("patient_id", Int, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("survey_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("completed_at", Text),
    Column("visit_id", Int, ForeignKey("visits.id", ondelete="SET NULL")),
    Column("asked_question", Text),
    Column("asked_message_id", Int),
    # The order responses were stored in: SQLite has it as the rowid.
    Column("seq", BigInteger, Identity(), info={POSTGRESQL_ONLY: True}),
    _in("status", "in_progress", "completed", "abandoned"),
    _partial(
        "responses_one_open_per_patient", "patient_id", where="status = 'in_progress'", unique=True
    ),
    Index("responses_by_start", "started_at", "status"),
    # Covering: the console lists a visit group's comments without reading each response.
    Index("responses_by_visit", "visit_id", "id", "patient_id"),
    Index("responses_for_breakdowns", "started_at", "visit_id", "id"),
)

answers = Table(
    "answers",
    metadata,
    Column("response_id", Text, ForeignKey("responses.id", ondelete="CASCADE"), nullable=False),
    Column("question_id", Text, nullable=False),
    Column("value_kind", Text, nullable=False),
    Column("value_int", Int),
    Column("value_text", Text),
    Column("answered_at", Text, nullable=False),
    Column("polarity", Real),
    Column("sentiment_label", Text),
    Column("topics", Text),
    Column("reasons", Text),
    PrimaryKeyConstraint("response_id", "question_id"),
    _in("value_kind", "int", "bool", "text", "skipped"),
    _in("sentiment_label", "negative", "neutral", "positive", "unknown"),
    Index("answers_scores", "question_id", "answered_at", "value_int"),
    Index("answers_sentiment", "sentiment_label", "answered_at"),
    # The console's comments, newest first, without sorting a million answers.
    Index("answers_by_kind", "value_kind", "answered_at"),
    # The console's search for words in comments, on PostgreSQL (pg_trgm; see COMMENT_SEARCH).
    Index(
        "answers_text_search",
        "value_text",
        postgresql_using="gin",
        postgresql_ops={"value_text": "gin_trgm_ops"},
        postgresql_where=text("value_kind = 'text'"),
        info={POSTGRESQL_ONLY: True},
    ),
    sqlite_with_rowid=False,
)

COMMENT_SEARCH = "comment_search"
"""SQLite's index of the words in comments: an FTS5 table of trigrams, which finds any part of
a word as PostgreSQL's trigram index `answers_text_search` does. It stores no text
(contentless); `comment_keys` gives each of its rows' answer. Triggers on `answers` keep both
(migration 0018). Virtual tables are not SQLAlchemy's to declare, so these live only there:
`comment_search` below is their shape for queries."""
SQLITE_ONLY_TABLES = frozenset(
    {
        "comment_keys",
        COMMENT_SEARCH,
        *(f"{COMMENT_SEARCH}_{part}" for part in ("data", "idx", "docsize", "config")),
    }
)
"""Tables SQLite alone has, all of them the search's (FTS5 keeps its index in `_data` and
the others)."""
comment_keys = table(
    "comment_keys", column("id", Int), column("response_id", Text), column("question_id", Text)
)
comment_search = table(COMMENT_SEARCH, column("rowid", Int), column(COMMENT_SEARCH, Text))

alerts = Table(
    "alerts",
    metadata,
    _id(),
    Column(
        "response_id",
        Text,
        ForeignKey("responses.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("reasons", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("version", Int, nullable=False, server_default=text("1")),
    _zero("delivered_version"),
    Column("staff_message_id", Int),
    Column("next_attempt_at", Text),
    _zero("failed_attempts"),
    _zero("maybe_sent"),
    Column("claimed_by", Int),
    Column("claimed_by_name", Text),
    Column("claimed_at", Text),
    Column("first_reply_at", Text),
    Column("resolved_by_name", Text),
    Column("resolved_at", Text),
    Column("resolution_note", Text),
    Column("case_opened_at", Text),
    Column("escalated_at", Text),
    _zero("awaiting_patient"),
    Column("callback_phone", Text),
    _partial("alerts_pending", "id", where="version > delivered_version"),
    _partial(
        "alerts_open", "case_opened_at", where="resolved_at IS NULL AND case_opened_at IS NOT NULL"
    ),
    _partial("alerts_by_case_opening", "case_opened_at", where="case_opened_at IS NOT NULL"),
)

handled_events = Table(
    "handled_events",
    metadata,
    Column("event_key", Int, primary_key=True, autoincrement=False),
    Column("handled_at", Text, nullable=False),
)

followups = Table(
    "followups",
    metadata,
    _id(),
    Column("patient_id", Int, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("source_response_id", Text, ForeignKey("responses.id", ondelete="SET NULL")),
    Column("survey_id", Text, nullable=False),
    Column("visit_id", Int, ForeignKey("visits.id", ondelete="SET NULL")),
    Column("due_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("response_id", Text),
    Column("sent_at", Text),
    Column("reminded_at", Text),
    _zero("attempts"),
    Column("retry_at", Text),
    UniqueConstraint("source_response_id", "survey_id"),
    _in(
        "status",
        "scheduled",
        "sending",
        "sent",
        "reminded",
        "answered",
        "expired",
        "stopped",
        "blocked",
    ),
    Index("followups_due", "status", "due_at"),
    Index("followups_by_response", "response_id"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("update_id", Int, primary_key=True, autoincrement=False),
    Column("received_at", Text, nullable=False),
    Column("body", Text, nullable=False),
)

case_messages = Table(
    "case_messages",
    metadata,
    _id(),
    Column("alert_id", Int, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("direction", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("author_name", Text),
    Column("created_at", Text, nullable=False),
    Column("delivered_at", Text),
    _zero("failed"),
    Column("staff_message_id", Int),
    Column("next_attempt_at", Text),
    _zero("failed_attempts"),
    _in("direction", "to_patient", "from_patient"),
    Index("case_messages_alert", "alert_id"),
    _partial(
        "case_messages_to_staff", "id", where="direction = 'from_patient' AND delivered_at IS NULL"
    ),
)

patient_notices = Table(
    "patient_notices",
    metadata,
    _id(),
    Column("response_id", Text, ForeignKey("responses.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("next_attempt_at", Text, nullable=False),
    _zero("failed_attempts"),
    Column("case_message_id", Int, ForeignKey("case_messages.id", ondelete="CASCADE")),
    Index("patient_notices_due", "next_attempt_at"),
    Index("patient_notices_response", "response_id"),
)

staff_redactions = Table(
    "staff_redactions",
    metadata,
    Column("message_id", Int, primary_key=True, autoincrement=False),
    Column("created_at", Text, nullable=False),
    Column("next_attempt_at", Text, nullable=False),
    _zero("failed_attempts"),
)

case_staff_messages = Table(
    "case_staff_messages",
    metadata,
    Column("message_id", Int, primary_key=True, autoincrement=False),
    Column("alert_id", Int, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    _in("kind", "alert", "patient", "prompt", "note"),
    Index("case_staff_messages_alert", "alert_id"),
)

staff_intents = Table(
    "staff_intents",
    metadata,
    Column("user_id", Int, primary_key=True, autoincrement=False),
    Column("alert_id", Int, ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    _in("kind", "reply", "note"),
)

daily_scores = Table(
    "daily_scores",
    metadata,
    Column("day", Text, nullable=False),
    Column("survey_id", Text, nullable=False),
    *(
        _zero(name)
        for name in (
            "started",
            "completed",
            "csat_count",
            "csat_sum",
            "csat_satisfied",
            "nps_promoters",
            "nps_passives",
            "nps_detractors",
            "negative",
            "neutral",
            "positive",
            "unknown",
        )
    ),
    PrimaryKeyConstraint("day", "survey_id"),
    sqlite_with_rowid=False,
)

# A group's figures: its responses, and their CSAT and NPS answers.
_GROUP_FIGURES = (
    "responses",
    "csat_count",
    "csat_sum",
    "nps_count",
    "nps_promoters",
    "nps_detractors",
)

daily_groups = Table(
    "daily_groups",
    metadata,
    Column("day", Text, nullable=False),
    Column("dimension", Text, nullable=False),
    Column("name", Text, nullable=False),
    *(_zero(name) for name in _GROUP_FIGURES),
    PrimaryKeyConstraint("day", "dimension", "name"),
    _in("dimension", "treatment", "provider", "location"),
    sqlite_with_rowid=False,
)

# The console's breakdowns: each provider, treatment and location together, per day ('' where
# the visit names none, as a key column cannot be NULL on PostgreSQL). Responses without a
# visit are not here: they are what the survey totals count beyond these.
daily_visit_groups = Table(
    "daily_visit_groups",
    metadata,
    Column("day", Text, nullable=False),
    Column("provider", Text, nullable=False),
    Column("treatment", Text, nullable=False),
    Column("location", Text, nullable=False),
    *(_zero(name) for name in _GROUP_FIGURES),
    # A group's days together: adding up three years for each group reads the rows in order
    # (31 ms for 95,000 rows, 125 with the day first and a sort; benchmarks/console_speed.py).
    PrimaryKeyConstraint("provider", "treatment", "location", "day"),
    # ... and a quarter's days without reading three years' (4 ms instead of 20 on PostgreSQL).
    Index("daily_visit_groups_by_day", "day"),
    sqlite_with_rowid=False,
)

report_basis = Table(
    "report_basis",
    metadata,
    Column("id", Int, primary_key=True, autoincrement=False),
    Column("csat", Text, nullable=False),
    Column("nps", Text, nullable=False),
    CheckConstraint("id = 1"),
)


visit_events = Table(
    "visit_events",
    metadata,
    # The booking system's id of the event (its retries and our clients' send it again).
    Column("source", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("visit_id", Int, ForeignKey("visits.id", ondelete="CASCADE"), nullable=False),
    Column("delivery", Text, nullable=False),
    # The booking system's id of the patient: links a returning patient to their chat.
    Column("patient_ref", Text),
    PrimaryKeyConstraint("source", "event_id"),
    _in("delivery", "telegram", "email", "none"),
    Index("visit_events_by_receipt", "received_at"),
    Index("visit_events_visit", "visit_id"),
    Index("visit_events_by_patient", "source", "patient_ref", "received_at"),
)

patient_links = Table(
    "patient_links",
    metadata,
    # A booking system's patient who opened one of its invitations and agreed: their next
    # visits are asked about in Telegram. Erased with the patient (/forget) or by retention.
    Column("source", Text, nullable=False),
    Column("patient_ref", Text, nullable=False),
    Column("patient_id", Int, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("linked_at", Text, nullable=False),
    PrimaryKeyConstraint("source", "patient_ref"),
    Index("patient_links_patient", "patient_id"),
)

invitation_mail = Table(
    "invitation_mail",
    metadata,
    # The e-mail an invitation owes. `held`: kept in case the Telegram survey cannot be
    # delivered; the address and name are erased once the server accepts the message.
    Column("visit_id", Int, ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True),
    Column("address", Text),
    Column("first_name", Text),
    Column("language", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("due_at", Text, nullable=False),
    _zero("attempts"),
    Column("claimed_at", Text),
    Column("outcome", Text),
    Column("sent_at", Text),
    _in("status", "held", "due", "sending", "sent", "refused", "dropped"),
    Index("invitation_mail_due", "status", "due_at"),
)


# The audit trail (bot/domain/audit.py): append-only, each hash covering the one before.
audit_entries = Table(
    "audit_entries",
    metadata,
    _id(),  # the entry's number
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("hash", Text, nullable=False),
    Index("audit_entries_by_time", "at"),
)

audit_anchor = Table(
    "audit_anchor",
    metadata,
    # One row at most: the last entry retention removed, which the first kept one follows.
    Column("id", Int, primary_key=True, autoincrement=False),
    Column("number", Int, nullable=False),
    Column("hash", Text, nullable=False),
    CheckConstraint("id = 1"),
)

audit_heads = Table(
    "audit_heads",
    metadata,
    # The trail's head owed to the staff chat, a day at a time; `posted_at` once it arrived.
    Column("day", Text, primary_key=True),
    Column("number", Int, nullable=False),
    Column("hash", Text, nullable=False),
    Column("next_attempt_at", Text, nullable=False),
    _zero("failed_attempts"),
    Column("posted_at", Text),
)


def figure_columns(table: Table) -> tuple[str, ...]:
    """A totals table's figures: every column but its key, in the table's order."""
    return tuple(column.name for column in table.columns if not column.primary_key)
