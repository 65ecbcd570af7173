"""Alembic environment: migrations run on a connection handed in by storage.engine.upgrade."""

from alembic import context

from bytespike.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - offline/CLI alembic use is not supported
    raise RuntimeError("run migrations through `bytespike db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
