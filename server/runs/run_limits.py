"""The server's own run limits, as the quotas a new run must fit (`model.Quota`).

One process counts its runs itself; replicas also count each run in Redis, in one atomic step
over every quota (server/cluster/admission.py), so two replicas never both take the last slot.
A class run is not counted per address (a school's NAT puts a class behind one): server/classes
adds its own quotas (student, class, teacher's address, all classes) instead.
"""

from __future__ import annotations

from ..config import Settings
from .model import Quota


def everyone(settings: Settings) -> Quota:
    """Every active run of the LayerLab (LAYERLAB_MAX_RUNS)."""
    most = settings.max_runs
    return Quota(
        "all",
        most,
        f"the server already has {most} active runs, its limit (LAYERLAB_MAX_RUNS); "
        "wait for one to finish or stop one",
    )


def per_address(settings: Settings, client: str) -> Quota:
    """One address's active runs outside classes (LAYERLAB_MAX_RUNS_PER_CLIENT)."""
    most = settings.max_runs_per_client
    return Quota(
        f"client:{client}",
        most,
        f"you already have {most} active runs, the limit per client "
        "(LAYERLAB_MAX_RUNS_PER_CLIENT); stop one first",
    )
