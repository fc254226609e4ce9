"""Recommendations from a run on `ratings`: one user's top items and the item vectors as a map.

`GET /api/runs/{id}/recommendations?user=&k=&method=` answers like the projector
(routes_projection.py): from the worker while the run is active, from its weights once ended;
the item map's t-SNE in the offline process.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from .deps import ClientDep, ManagerDep, OfflineDep, RunDep, StoreDep
from .routes_projection import REFUSALS, ask_run

router = APIRouter(prefix="/api/runs", tags=["runs"])


def has_recommender(experiment: dict) -> bool:
    """Whether the design is a ratings recommender (what this view needs)."""
    layers = (experiment.get("model") or {}).get("layers") or []
    dataset = (experiment.get("dataset") or {}).get("name")
    return dataset == "ratings" and any(layer.get("type") == "recommender" for layer in layers)


@router.get("/{run_id}/recommendations", responses={k: v for k, v in REFUSALS.items() if k != 403})
async def get_recommendations(
    run: RunDep,
    manager: ManagerDep,
    store: StoreDep,
    offline: OfflineDep,
    client: ClientDep,
    request: Request,
    user: Annotated[int, Query(ge=0, description="the user, 0 to users - 1")] = 0,
    k: Annotated[int, Query(ge=1, le=50, description="how many items to recommend")] = 10,
    method: Annotated[
        Literal["pca", "tsne"], Query(description="how the item map is drawn")
    ] = "pca",
) -> dict[str, Any]:
    """`user`'s top `k` items they have not rated (predicted ratings), their known ratings
    beside the predictions, the validation RMSE against the mean-rating baseline, and the
    item vectors in 2D coloured by genre (`map`, the projector's shape)."""
    if not has_recommender(run.experiment):
        raise HTTPException(
            409,
            f"run {run.id} is not a recommender: recommendations need a run on the ratings "
            "dataset with a recommender layer",
        )
    params = {"user": user, "k": k, "method": method}
    return await ask_run(
        run,
        "recommend",
        params,
        manager=manager,
        store=store,
        offline=offline,
        client=client,
        request=request,
    )
