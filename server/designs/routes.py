"""Saved designs: save, list yours, open, rename, duplicate, delete, download as a file.

The owner is whoever holds the `X-Owner-Token` it was saved with. Anyone with a design's id
may open or duplicate it (like a shared link); only its owner may change or delete it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response

from ..config import Settings
from ..engine.errors import ExperimentError, error_list
from ..engine.validation import validate_experiment
from ..web.deps import SettingsDep, StoreDep
from ..web.owner import MaybeOwner, Owner, OwnerToken, owns
from ..web.paging import Page, paging
from .models import DesignIn, DesignOut, DesignPatch
from .repository import DESIGNS, Design

router = APIRouter(prefix="/api/designs", tags=["designs"])

NOT_FOUND = {404: {"description": "no such design"}}
OWNER_ONLY = {403: {"description": "not the design's owner (X-Owner-Token)"}, **NOT_FOUND}
DesignPage = Annotated[Page, Depends(paging(default=100, most=500))]


def _out(design: Design, owner: OwnerToken | None) -> DesignOut:
    return DesignOut(
        **design.model_dump(exclude={"owner"}),
        mine=owns(owner, design.owner),
        runs=f"/api/runs?design={design.id}",
    )


def _checked(experiment: Any, settings: Settings) -> dict:
    """The normalised experiment, or a 422 whose `loc` names the field under `experiment`."""
    try:
        return validate_experiment(experiment, settings)[0]
    except ExperimentError as err:
        errors = [{**e, "loc": ["body", "experiment", *e["loc"]]} for e in error_list(err)]
        raise HTTPException(422, errors) from None


@router.post("", status_code=201, responses={422: {"description": "`detail` names the field"}})
def create_design(
    body: DesignIn, owner: Owner, store: StoreDep, settings: SettingsDep
) -> DesignOut:
    """Save a design with a name and a note; its experiment is checked like POST /api/check."""
    experiment = _checked(body.experiment, settings)
    design = store.read(DESIGNS.create, owner.hash, body.name.strip(), body.note, experiment)
    return _out(design, owner)


@router.get("")
def list_designs(owner: Owner, store: StoreDep, page: DesignPage) -> list[DesignOut]:
    """Your designs, the most recently changed first (`X-Total-Count`: how many)."""
    designs, total = store.read(DESIGNS.page, owner.hash, page.limit, page.offset)
    page.total(total)
    return [_out(d, owner) for d in designs]


@router.get("/{design_id}", responses=NOT_FOUND)
def get_design(design_id: str, store: StoreDep, owner: MaybeOwner) -> DesignOut:
    """One design, by its id."""
    return _out(store.read(DESIGNS.find, design_id), owner)


@router.patch("/{design_id}", responses=OWNER_ONLY)
def update_design(
    design_id: str, body: DesignPatch, owner: Owner, store: StoreDep, settings: SettingsDep
) -> DesignOut:
    """Rename it, change its note, or replace its experiment (the owner only)."""
    store.read(DESIGNS.owned, design_id, owner.hash, "change")
    values: dict[str, Any] = body.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in values:
        values["name"] = values["name"].strip()
    if "experiment" in values:
        values["experiment"] = _checked(values["experiment"], settings)
    return _out(store.read(DESIGNS.change, design_id, values), owner)


@router.delete("/{design_id}", status_code=204, responses=OWNER_ONLY)
def delete_design(design_id: str, owner: Owner, store: StoreDep) -> Response:
    """Delete it (the owner only); its runs stay."""
    store.read(DESIGNS.owned, design_id, owner.hash, "change")
    store.read(DESIGNS.remove, design_id)
    return Response(status_code=204)


@router.post("/{design_id}/duplicate", status_code=201, responses=NOT_FOUND)
def duplicate_design(design_id: str, owner: Owner, store: StoreDep) -> DesignOut:
    """A copy of it, yours, named "<name> (copy)"."""
    design = store.read(DESIGNS.find, design_id)
    name = f"{design.name} (copy)"[:200]
    copy = store.read(DESIGNS.create, owner.hash, name, design.note, design.experiment)
    return _out(copy, owner)


@router.get(
    "/{design_id}/file",
    responses={
        200: {"content": {"application/json": {}}, "description": "the design file"},
        **NOT_FOUND,
    },
)
def download_design(design_id: str, store: StoreDep) -> Response:
    """The design as a JSON file (`{"name", "note", "experiment"}`): upload it again with
    POST /api/designs, or open its experiment with `layerlab check` / `train`."""
    design = store.read(DESIGNS.find, design_id)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", design.name).strip("-")[:60] or design.id
    body = DesignIn(name=design.name, note=design.note, experiment=design.experiment)
    return Response(
        body.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="layerlab-{slug}.json"'},
    )
