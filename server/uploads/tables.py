"""The `uploads` table (migrations 0002_uploads, 0003_upload_client, 0004_upload_preview) and
its shares (0005_upload_shares), on the store's shared metadata."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, LargeBinary, String, Table, Text

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

# One share token per upload (its hash; a new share replaces it), and the owners who accepted
# one: they read and train on the upload until its owner revokes the share.
upload_shares = Table(
    "upload_shares",
    metadata,
    Column("upload_id", String(32), ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created", Float, nullable=False),
)
upload_grants = Table(
    "upload_grants",
    metadata,
    Column("upload_id", String(32), ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True),
    Column("owner", String(64), primary_key=True),  # sha256 of the accepting X-Owner-Token
    Column("created", Float, nullable=False),
)
