"""The `uploads` table (migrations 0002_uploads, 0003_upload_client, 0004_upload_preview), on
the store's shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, LargeBinary, String, Table, Text

from ..store.tables import metadata

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),  # sha256 of the X-Owner-Token
    Column("name", String(200), nullable=False),  # the file's name as uploaded
    Column("kind", String(16), nullable=False),  # csv | images | points
    Column("info_json", Text, nullable=False),  # Processed.info() plus the shapes answered
    Column("data", LargeBinary, nullable=False),  # the npz the engine reads (processed arrays)
    Column("bytes", Integer, nullable=False),  # size of `data`
    Column("created", Float, nullable=False),
    Column("client", String(64), nullable=False, index=True, server_default=""),  # its address
    # The preview GET answers (JSON), computed once at upload: a GET never opens the arrays.
    # NULL for uploads stored before it existed: computed at their first GET, then kept.
    Column("preview_json", Text, nullable=True),
)
