"""The bodies of `/api/designs`: a design to save, a change to one, a saved one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class DesignIn(BaseModel):
    """A design to save: what a design file holds, too (download one, upload it again)."""

    name: str = Field(min_length=1, max_length=200, description="shown in My designs")
    note: str = Field("", max_length=10_000, description="what it is for, what to try")
    experiment: dict[str, Any] = Field(
        description="the experiment document, checked like POST /api/check"
    )


class DesignPatch(BaseModel):
    """Rename, re-note or replace the experiment of a saved design (any of the three)."""

    name: str | None = Field(None, min_length=1, max_length=200)
    note: str | None = Field(None, max_length=10_000)
    experiment: dict[str, Any] | None = None


class DesignOut(BaseModel):
    """A saved design."""

    id: str
    name: str
    note: str
    experiment: dict[str, Any]
    created: float = Field(description="Unix time")
    updated: float = Field(description="Unix time")
    mine: bool = Field(description="whether the X-Owner-Token sent owns it")
    runs: str = Field(description="where its runs are listed")
