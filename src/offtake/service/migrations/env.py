"""Alembic environment for the Offtake service (run via ``offtake.service.db.run_migrations``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from offtake.service.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # command-line use: alembic -x url=... upgrade head
    from offtake.service.settings import Settings

    url = context.get_x_argument(as_dictionary=True).get("url") or Settings().database_url
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
