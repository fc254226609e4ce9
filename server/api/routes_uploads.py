"""Your own data: upload a CSV, a zip of images or drawn 2D points; list and delete your uploads.

An upload belongs to the `X-Owner-Token` it was sent with (the server keeps only its hash);
anyone with its id may use it in an experiment (`{"dataset": {"name": "upload", "id": ...}}`,
like a shared link) and read its description; only its owner lists or deletes it. The file
is parsed while it is read (`server/uploads`), every limit from the settings; a bad file gets
a 422 (a limit a 413) whose detail names the row, column or file.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Response, UploadFile
from pydantic import BaseModel, Field

from ..engine.datasets import preview_data
from ..engine.errors import ExperimentError
from ..uploads import repo
from ..uploads.csv_table import CsvOptions, parse_csv, parse_points
from ..uploads.errors import UploadError, too_large
from ..uploads.images_zip import ImageOptions, parse_images
from ..uploads.processed import Processed
from .deps import SettingsDep, StoreDep, owner_hash
from .errors import experiment_errors
from .routes_designs import OwnerRequired

router = APIRouter(prefix="/api/datasets/uploads", tags=["uploads"])

NOT_FOUND = {404: {"description": "no such upload"}}
BAD_FILE = {
    413: {"description": "over a limit (bytes, rows, columns, images, pixels, a zip bomb)"},
    422: {
        "description": "the file cannot be a dataset: `detail` is a list of `{loc, msg, type}`, "
        "with `row`, `line`, `column` or `file` naming the place"
    },
    429: {"description": "you keep as many uploads as this server allows; delete one"},
}


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


def _out(row: repo.UploadRow, owner: str | None, preview: dict | None = None) -> UploadOut:
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
        mine=owner is not None and owner_hash(owner) == row.owner,
        preview=preview,
    )


def _parse(
    file: UploadFile, kind: str, csv: CsvOptions, images: ImageOptions, settings
) -> Processed:
    name = (file.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    if file.size is not None and file.size > settings.upload_max_bytes:
        raise too_large(
            f"the file is {file.size:,} bytes; at most {settings.upload_max_bytes:,} "
            "(LAYERLAB_UPLOAD_MAX_BYTES)"
        )
    if kind == "images":
        return parse_images(file.file, name, images, settings)
    if kind == "points":
        return parse_points(file.file, name, csv, settings)
    return parse_csv(file.file, name, csv, settings)


@router.post("", status_code=201, responses=BAD_FILE)
def create_upload(
    file: Annotated[UploadFile, File(description="the CSV, the zip of class folders, or points")],
    owner: OwnerRequired,
    store: StoreDep,
    settings: SettingsDep,
    kind: Annotated[
        Literal["csv", "images", "points"],
        Form(description="csv: a table; images: a zip, one folder per class; points: x1,x2,target"),
    ] = "csv",
    target: Annotated[
        str, Form(max_length=200, description="CSV: the target column (default: the last)")
    ] = "",
    task: Annotated[
        Literal["", "classification", "regression", "forecasting"],
        Form(
            description="CSV: the task; empty: guessed from the target column; forecasting: "
            "the target column is a series, cut into windows"
        ),
    ] = "",
    window: Annotated[
        int, Form(ge=1, le=512, description="forecasting: values the model sees")
    ] = 16,
    horizon: Annotated[
        int, Form(ge=1, le=64, description="forecasting: values it predicts after them")
    ] = 1,
    time: Annotated[
        str, Form(max_length=200, description="forecasting: a column that orders the rows")
    ] = "",
    missing: Annotated[
        Literal["refuse", "fill"],
        Form(
            description="CSV: empty cells refused, or filled (numbers: the mean; text: a category)"
        ),
    ] = "refuse",
    image_size: Annotated[
        int, Form(ge=4, le=256, description="images: resized to this square")
    ] = 16,
    color: Annotated[
        Literal["grayscale", "rgb"], Form(description="images: channels")
    ] = "grayscale",
) -> UploadOut:
    """Upload a dataset: 201 with its id, shapes, task, columns or classes and a preview."""
    who = owner_hash(owner)
    if store.read(repo.count_owned, who) >= settings.upload_max_per_owner:
        raise HTTPException(
            429,
            f"you keep {settings.upload_max_per_owner} uploads already "
            "(LAYERLAB_UPLOAD_MAX_PER_OWNER); delete one first",
        )
    csv = CsvOptions(
        target=target.strip() or None,
        task=task or None,  # type: ignore[arg-type]
        missing=missing,  # type: ignore[arg-type]
        window=window,
        horizon=horizon,
        time=time.strip() or None,
    )
    try:
        processed = _parse(file, kind, csv, ImageOptions(size=image_size, color=color), settings)
    except UploadError as err:
        raise HTTPException(err.status, err.detail()) from None
    finally:
        file.file.close()
    row = store.write(repo.create, settings.state_dir, who, processed)
    return _out(row, owner, _preview(row, settings))


def _preview(row: repo.UploadRow, settings) -> dict | None:
    try:
        preview = preview_data({"name": "upload", "id": row.id}, settings)
    except ExperimentError as err:  # e.g. too few examples of a class to split
        return {"errors": experiment_errors(err)}
    if "preview" in row.info:
        preview["rows"] = row.info["preview"]
    return preview


@router.get("")
def list_uploads(owner: OwnerRequired, store: StoreDep) -> list[UploadOut]:
    """Your uploads, newest first."""
    rows = store.read(repo.list_owned, owner_hash(owner))
    return [_out(r, owner) for r in rows]


@router.get("/{upload_id}", responses=NOT_FOUND)
def get_upload(
    upload_id: str, store: StoreDep, settings: SettingsDep, owner: OwnerRequired | None = None
) -> UploadOut:
    """One upload, by its id (anyone with the id: a design's link uses it), with its preview."""
    row = store.read(repo.get, upload_id)
    if row is None:
        raise HTTPException(404, f"no upload with id {upload_id!r}")
    repo_file_ok(row, store, settings)
    return _out(row, owner, _preview(row, settings))


def repo_file_ok(row: repo.UploadRow, store, settings) -> None:
    """Write the upload's file again if this state folder lost it."""
    from ..engine.datasets.upload import upload_path

    if not upload_path(settings.state_dir, row.id).exists():
        store.write(repo.restore_files, settings.state_dir)


@router.delete(
    "/{upload_id}", status_code=204, responses={403: {"description": "not yours"}, **NOT_FOUND}
)
def delete_upload(
    upload_id: str, owner: OwnerRequired, store: StoreDep, settings: SettingsDep
) -> Response:
    """Delete your upload (its runs stay; new runs on it are refused)."""
    row = store.read(repo.get, upload_id)
    if row is None:
        raise HTTPException(404, f"no upload with id {upload_id!r}")
    if row.owner != owner_hash(owner):
        raise HTTPException(403, "only the owner of this upload may delete it (X-Owner-Token)")
    store.write(repo.remove, settings.state_dir, upload_id)
    return Response(status_code=204)
