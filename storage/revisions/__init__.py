"""Alembic revisions of the schema, for SQLite and PostgreSQL alike."""
