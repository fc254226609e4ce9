"""Saved designs: save, list yours, open, rename, duplicate, delete, download as a file.

The owner is whoever holds the `X-Owner-Token` it was saved with (a random token the page
keeps in localStorage; the server stores only its hash). Anyone with a design's id may open
or duplicate it (like a shared link); only its owner may change or delete it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response

from ..engine.errors import ExperimentError
from ..store import designs as store_designs
from ..store.designs import Design
from .deps import OwnerDep, SettingsDep, StoreDep, owner_hash
from .errors import experiment_errors
from .models import DesignIn, DesignOut, DesignPatch
from .routes_check import validate_experiment

router = APIRouter(prefix="/api/designs", tags=["designs"])

OwnerRequired = Annotated[
    str,
    Header(
        alias="X-Owner-Token",
        min_length=16,
        max_length=200,
        description="your owner token (the page keeps one in localStorage)",
    ),
]
NOT_FOUND = {404: {"description": "no such design"}}
OWNER_ONLY = {403: {"description": "not the design's owner (X-Owner-Token)"}, **NOT_FOUND}


def _out(design: Design, owner_token: str | None) -> DesignOut:
    return DesignOut(
        **design.model_dump(exclude={"owner"}),
        mine=owner_token is not None and owner_hash(owner_token) == design.owner,
        runs=f"/api/runs?design={design.id}",
    )


def _checked(experiment: Any, settings) -> dict:
    """The normalised experiment, or a 422 whose `loc` names the field under `experiment`."""
    try:
        return validate_experiment(experiment, settings)[0]
    except ExperimentError as err:
        errors = experiment_errors(err)
        for e in errors:
            e["loc"] = ["body", "experiment", *e["loc"]]
        raise HTTPException(422, errors) from None


def _find(store, design_id: str) -> Design:
    design = store.read(store_designs.get, design_id)
    if design is None:
        raise HTTPException(404, f"no design with id {design_id!r}")
    return design


def _owned(store, design_id: str, owner: str) -> Design:
    design = _find(store, design_id)
    if design.owner != owner_hash(owner):
        raise HTTPException(403, "only the owner of this design may change it (X-Owner-Token)")
    return design


@router.post("", status_code=201, responses={422: {"description": "`detail` names the field"}})
def create_design(
    body: DesignIn, owner: OwnerRequired, store: StoreDep, settings: SettingsDep
) -> DesignOut:
    """Save a design with a name and a note; its experiment is checked like POST /api/check."""
    experiment = _checked(body.experiment, settings)
    design = store.write(
        store_designs.create, owner_hash(owner), body.name.strip(), body.note, experiment
    )
    return _out(design, owner)


@router.get("")
def list_designs(
    owner: OwnerRequired,
    store: StoreDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DesignOut]:
    """Your designs, the most recently changed first (`X-Total-Count`: how many)."""
    designs, total = store.read(store_designs.list_owned, owner_hash(owner), limit, offset)
    response.headers["X-Total-Count"] = str(total)
    return [_out(d, owner) for d in designs]


@router.get("/{design_id}", responses=NOT_FOUND)
def get_design(design_id: str, store: StoreDep, owner: OwnerDep = None) -> DesignOut:
    """One design, by its id."""
    return _out(_find(store, design_id), owner)


@router.patch("/{design_id}", responses=OWNER_ONLY)
def update_design(
    design_id: str,
    body: DesignPatch,
    owner: OwnerRequired,
    store: StoreDep,
    settings: SettingsDep,
) -> DesignOut:
    """Rename it, change its note, or replace its experiment (the owner only)."""
    _owned(store, design_id, owner)
    values: dict[str, Any] = body.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in values:
        values["name"] = values["name"].strip()
    if "experiment" in values:
        values["experiment"] = _checked(values["experiment"], settings)
    design = store.write(store_designs.change, design_id, values)
    if design is None:
        raise HTTPException(404, f"no design with id {design_id!r}")
    return _out(design, owner)


@router.delete("/{design_id}", status_code=204, responses=OWNER_ONLY)
def delete_design(design_id: str, owner: OwnerRequired, store: StoreDep) -> Response:
    """Delete it (the owner only); its runs stay."""
    _owned(store, design_id, owner)
    store.write(store_designs.remove, design_id)
    return Response(status_code=204)


@router.post("/{design_id}/duplicate", status_code=201, responses=NOT_FOUND)
def duplicate_design(design_id: str, owner: OwnerRequired, store: StoreDep) -> DesignOut:
    """A copy of it, yours, named "<name> (copy)"."""
    design = _find(store, design_id)
    name = f"{design.name} (copy)"[:200]
    copy = store.write(
        store_designs.create, owner_hash(owner), name, design.note, design.experiment
    )
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
    design = _find(store, design_id)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", design.name).strip("-")[:60] or design.id
    body = DesignIn(name=design.name, note=design.note, experiment=design.experiment)
    return Response(
        body.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="layerlab-{slug}.json"'},
    )
