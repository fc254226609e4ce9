"""The body `/api/datasets/uploads` answers with: an uploaded dataset, ready to train on."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..web.owner import OwnerToken, owns
from .repository import UploadRow


class UploadOut(BaseModel):
    """An uploaded dataset: use `dataset` as the experiment's dataset."""

    id: str
    name: str = Field(description="the file's name as uploaded")
    kind: Literal["csv", "images", "points", "series"]
    family: str = Field(description="tabular, image, 2d or sequence: which views the page shows")
    task: Literal["classification", "regression", "forecasting"]
    input_shape: list[int] = Field(description="one example's shape, without the batch")
    n: int = Field(description="examples (rows or images)")
    class_names: list[str] | None
    feature_names: list[str] = Field(description="model inputs (text columns one-hot: col=value)")
    columns: list[dict[str, Any]] | None = Field(
        None, description="CSV: per column its name, type (number|text), role (target|feature)"
    )
    target: str | None = None
    dataset: dict[str, Any] = Field(
        description='the experiment\'s dataset: {"name": "upload", "id"}'
    )
    created: float
    bytes: int = Field(description="stored size of the processed arrays")
    mine: bool
    preview: dict[str, Any] | None = Field(
        None,
        description="what POST /api/datasets/preview gives for it, plus `rows`: the "
        "CSV's header and first rows as text",
    )


def upload_out(row: UploadRow, owner: OwnerToken | None, preview: dict | None = None) -> UploadOut:
    """The answer for one upload; `mine` when the request's owner token owns it."""
    info = row.info
    return UploadOut(
        id=row.id,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        family=info["family"],
        task=info["task"],
        input_shape=info["input_shape"],
        n=info["n"],
        class_names=info["class_names"],
        feature_names=info["feature_names"],
        columns=info.get("columns"),
        target=info.get("target"),
        dataset={"name": "upload", "id": row.id},
        created=row.created,
        bytes=row.bytes,
        mine=owns(owner, row.owner),
        preview=preview,
    )
