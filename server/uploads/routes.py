"""Your own data: upload a CSV, a zip of images or drawn 2D points; list and delete your uploads.

An upload belongs to the `X-Owner-Token` it was sent with (the server keeps only its hash);
only its owner trains on it (`{"dataset": {"name": "upload", "id": ...}}`: a 403 to anyone
else, server/uploads/access.py), reads it (its description and preview), lists or deletes it:
a public run trained on it shows its id, and the id alone opens nothing. The file
is parsed in a process of its own (`parsing.py`: bounded, with a time limit), every limit from
the settings; a bad file gets a 422 (a limit a 413) whose detail names the row, column or file
or the setting; a full quota a 429 naming the setting.
"""

from __future__ import annotations

import threading
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, Response, UploadFile

from ..config import Settings
from ..engine.datasets import preview_data
from ..engine.errors import ExperimentError, error_list
from ..store.owned import NotOwner
from ..store.store import Store
from ..web.deps import ClientDep, SettingsDep, StoreDep
from ..web.owner import Owner
from ..web.paging import Page, paging
from . import quota
from .access import may_use
from .csv_table import CsvOptions
from .errors import UploadError, too_large
from .images_zip import ImageOptions
from .models import UploadOut, upload_out
from .parsing import ParseBusy, Parsed, ParseJob, ParsePool
from .repository import UPLOADS, UploadRow

router = APIRouter(prefix="/api/datasets/uploads", tags=["uploads"])

NOT_FOUND = {404: {"description": "no such upload"}}
BAD_FILE = {
    413: {"description": "over a limit (bytes, rows, columns, images, pixels, a zip bomb)"},
    422: {
        "description": "the file cannot be a dataset: `detail` is a list of `{loc, msg, type}`, "
        "with `row`, `line`, `column` or `file` naming the place"
    },
    429: {
        "description": "over a quota (uploads or stored bytes per owner, per address, in all): "
        "the message names the setting; delete some. Or every parsing process is busy "
        "(LAYERLAB_UPLOAD_PARSE_WORKERS): try again after Retry-After"
    },
}
UploadPage = Annotated[Page, Depends(paging(default=100, most=500))]


def _parse(
    pool: ParsePool,
    file: UploadFile,
    kind: str,
    csv: CsvOptions,
    images: ImageOptions,
    settings: Settings,
) -> Parsed:
    """The file read here (at most its limit), parsed in a process of the pool."""
    name = (file.filename or "upload").replace("\\", "/").rsplit("/", 1)[-1] or "upload"
    data = file.file.read(settings.upload_max_bytes + 1)
    if len(data) > settings.upload_max_bytes:
        raise too_large(
            f"the file is over {settings.upload_max_bytes:,} bytes (LAYERLAB_UPLOAD_MAX_BYTES)"
        )
    return pool.parse(ParseJob(kind, name, data, csv, images, settings))


def get_parse_pool(request: Request) -> ParsePool:
    """The app's upload parsers (made on first use; `create_app`'s lifespan closes them)."""
    state = request.app.state
    with _POOL_MADE:
        if getattr(state, "upload_parsers", None) is None:
            state.upload_parsers = ParsePool(state.settings)
        return state.upload_parsers


_POOL_MADE = threading.Lock()
ParsePoolDep = Annotated[ParsePool, Depends(get_parse_pool)]


def compute_preview(upload_id: str, info: dict, settings: Settings) -> dict | None:
    """The preview of an upload, from its file (every array read): done once, at upload."""
    try:
        preview = preview_data({"name": "upload", "id": upload_id}, settings)
    except ExperimentError as err:  # e.g. too few examples of a class to split
        return {"errors": error_list(err)}
    if "preview" in info:
        preview["rows"] = info["preview"]
    return preview


def _stored_preview(store: Store, row: UploadRow, settings: Settings) -> dict | None:
    """The kept preview (one small column); an upload from before previews were kept gets
    its preview computed once here, and kept."""
    kept, preview = store.read(UPLOADS.preview, row.id)
    if not kept:
        with _BACKFILL:  # one at a time: many GETs of one old upload read its arrays once
            kept, preview = store.read(UPLOADS.preview, row.id)
            if not kept:
                preview = compute_preview(row.id, row.info, settings)
                store.write(UPLOADS.save_preview, row.id, preview)
    return preview


_BACKFILL = threading.Lock()


@router.post("", status_code=201, responses=BAD_FILE)
def create_upload(
    file: Annotated[UploadFile, File(description="the CSV, the zip of class folders, or points")],
    owner: Owner,
    store: StoreDep,
    settings: SettingsDep,
    client: ClientDep,
    parsers: ParsePoolDep,
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
    quota.check(store, settings, owner.hash, client)  # already full: refused before reading
    csv = CsvOptions(
        target=target.strip() or None,
        task=task or None,  # type: ignore[arg-type]
        missing=missing,  # type: ignore[arg-type]
        window=window,
        horizon=horizon,
        time=time.strip() or None,
    )
    try:
        parsed = _parse(
            parsers, file, kind, csv, ImageOptions(size=image_size, color=color), settings
        )
    except UploadError as err:
        raise HTTPException(err.status, err.detail()) from None
    except ParseBusy as err:
        raise HTTPException(429, str(err), headers={"Retry-After": "5"}) from None
    finally:
        file.file.close()
    processed, data = parsed.processed, parsed.npz
    with quota.STORING:
        quota.check(store, settings, owner.hash, client, adding=len(data))
        info = processed.info()
        row = store.write(
            UPLOADS.create,
            settings.state_dir,
            owner.hash,
            client,
            processed,
            data,
            lambda upload_id: compute_preview(upload_id, info, settings),
        )
    return upload_out(row, owner, store.read(UPLOADS.preview, row.id)[1])


@router.get("")
def list_uploads(owner: Owner, store: StoreDep, page: UploadPage) -> list[UploadOut]:
    """Your uploads, newest first (`X-Total-Count`: how many)."""
    rows, total = store.read(UPLOADS.page, owner.hash, page.limit, page.offset)
    page.total(total)
    return [upload_out(r, owner) for r in rows]


@router.get("/{upload_id}", responses={403: {"description": "not yours"}, **NOT_FOUND})
def get_upload(upload_id: str, store: StoreDep, settings: SettingsDep, owner: Owner) -> UploadOut:
    """Your upload (or one shared with you), by its id, with its preview (its rows)."""
    row = store.read(UPLOADS.find, upload_id)
    if not may_use(store, row.owner, upload_id, owner.hash):
        raise NotOwner("upload", "read")  # (or hold its share: POST .../shares/accept)
    # This state folder lost its file or holds a damaged one: written again from the database.
    store.write(UPLOADS.repair_file, settings.state_dir, row.id, row.bytes)
    return upload_out(row, owner, _stored_preview(store, row, settings))


@router.delete(
    "/{upload_id}", status_code=204, responses={403: {"description": "not yours"}, **NOT_FOUND}
)
def delete_upload(upload_id: str, owner: Owner, store: StoreDep, settings: SettingsDep) -> Response:
    """Delete your upload (its runs stay; new runs on it are refused)."""
    store.read(UPLOADS.owned, upload_id, owner.hash, "delete")
    store.write(UPLOADS.delete, settings.state_dir, upload_id)
    return Response(status_code=204)
