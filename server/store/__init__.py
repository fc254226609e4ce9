"""The database: runs, epoch records, per-layer summaries, exports and designs.

SQLAlchemy 2 with Alembic migrations (shipped in `migrations/`, run at start); SQLite in the
state folder by default, PostgreSQL when `LAYERLAB_DATABASE_URL` names one. `runs/` and `api/`
use it (`server.store.store.Store`); `engine/` never does. `spool.py` (export files from the
workers) has no database code, so a worker process imports no SQLAlchemy.
"""
