"""Alembic environment of the OpenADR tables (own version table, own history)."""

from __future__ import annotations

from alembic import context

from offtake.service.openadr.store import VERSION_TABLE, OadrBase

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only run through run_openadr_migrations
    raise SystemExit("run via offtake.service.openadr.store.run_openadr_migrations")
context.configure(connection=connection, target_metadata=OadrBase.metadata,
                  version_table=VERSION_TABLE,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
