"""Alembic's entry point: run the revisions on the connection `upgrade_schema` passes in.

The bot migrates itself at start (see `storage.database.upgrade_schema`); there is no
alembic.ini, and no revision is ever generated from models: each is written by hand, small,
named for what it changes, and only ever appended.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
