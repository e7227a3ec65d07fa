-- Daily totals for summaries and trends, so that "all time" reads a few thousand rows instead
-- of every answer. A day is the UTC date a response started; every figure of a response (its
-- scores, its comments' sentiment, its completion) counts on that day. Kept up to date in
-- the transaction of every change to a response (storage/totals.py), and rebuilt from the
-- answers whenever the questions that hold the CSAT and NPS change (report_basis).
CREATE TABLE daily_scores (
    day            TEXT    NOT NULL,
    survey_id      TEXT    NOT NULL,
    started        INTEGER NOT NULL DEFAULT 0,
    completed      INTEGER NOT NULL DEFAULT 0,
    csat_count     INTEGER NOT NULL DEFAULT 0,
    csat_sum       INTEGER NOT NULL DEFAULT 0,
    csat_satisfied INTEGER NOT NULL DEFAULT 0,
    nps_promoters  INTEGER NOT NULL DEFAULT 0,
    nps_passives   INTEGER NOT NULL DEFAULT 0,
    nps_detractors INTEGER NOT NULL DEFAULT 0,
    negative       INTEGER NOT NULL DEFAULT 0,
    neutral        INTEGER NOT NULL DEFAULT 0,
    positive       INTEGER NOT NULL DEFAULT 0,
    unknown        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, survey_id)
) WITHOUT ROWID;

-- The same per treatment, provider and location of the response's visit.
CREATE TABLE daily_groups (
    day            TEXT    NOT NULL,
    dimension      TEXT    NOT NULL CHECK (dimension IN ('treatment', 'provider', 'location')),
    name           TEXT    NOT NULL,
    responses      INTEGER NOT NULL DEFAULT 0,
    csat_count     INTEGER NOT NULL DEFAULT 0,
    csat_sum       INTEGER NOT NULL DEFAULT 0,
    nps_count      INTEGER NOT NULL DEFAULT 0,
    nps_promoters  INTEGER NOT NULL DEFAULT 0,
    nps_detractors INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, dimension, name)
) WITHOUT ROWID;

-- Which question ids the totals counted as CSAT and NPS (JSON arrays). No row: the totals
-- were never built, and are built before the first summary.
CREATE TABLE report_basis (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    csat TEXT    NOT NULL,
    nps  TEXT    NOT NULL
);
