"""Operations service: sites, surplus signals, setpoints, metering, billing (``offtake serve``).

Layers: ``settings`` -> ``db``/``models`` (SQLAlchemy 2, Alembic ``migrations``) ->
``allocation`` (pure numpy) and ``domain`` (plain functions over a session) -> ``routes``
(thin FastAPI routers) -> ``app.create_app``.  See docs/service.md.
"""
