"""The schema comes from Alembic migrations: upgrade from empty, downgrade to empty, again."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from hrpipeline import create_app
from hrpipeline.extensions import db
from tests.conftest import app_test_config, drop_pg_database, fresh_database_url


def test_upgrade_from_empty_downgrade_and_upgrade_again(tmp_path):
    url = fresh_database_url(tmp_path, "migrations")
    app = create_app(app_test_config(url))
    try:
        with app.app_context():
            assert inspect(db.engine).get_table_names() == []
            upgrade()
            tables = set(inspect(db.engine).get_table_names())
            assert {t.name for t in db.metadata.sorted_tables} <= tables
            assert "alembic_version" in tables
            indexes = {ix["name"] for ix in inspect(db.engine).get_indexes("funnel_records")}
            assert "ix_funnel_agg" in indexes
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            upgrade()
            assert "funnel_records" in inspect(db.engine).get_table_names()
            db.engine.dispose()
    finally:
        if url.startswith("postgresql"):
            drop_pg_database(url)


def test_models_match_migrations(app):
    """Autogenerate finds no difference between the models and the migrated schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
