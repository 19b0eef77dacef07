"""Database: SQLAlchemy 2 models and Alembic migrations. SQLite is the embedded default, PostgreSQL the server."""
