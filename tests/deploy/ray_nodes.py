"""The compose file's Ray part as processes: a head node without CPUs and two worker nodes of one
CPU each, every node its own Ray processes (GCS, raylet) on this machine, started with Ray's
own multi-node test cluster (`ray.cluster_utils.Cluster`).

    python tests/deploy/ray_nodes.py

Prints one JSON line, `{"address": <GCS address>, "head": <node id>, "workers": [<node id>,
<node id>]}`, once every node has registered, then holds the cluster until its standard input
closes, and shuts it down. Run by tests/deploy/test_topology.py with the wheel's Python, so the
worker nodes' actors import the installed wheel, as the compose file's nodes do.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import warnings

from ray.cluster_utils import Cluster

WORKER_NODES = 2
OBJECT_STORE_BYTES = 100_000_000  # each node's; LayerLab passes no large objects through it


def main() -> None:
    # A short folder of its own: Ray's socket paths must stay under 108 bytes, and /tmp/ray is
    # shared with anything else that runs Ray here.
    folder = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 0,  # as the compose file's head: it schedules, it does not train
                "include_dashboard": False,
                "object_store_memory": OBJECT_STORE_BYTES,
                "temp_dir": folder,
            },
        )
        workers = [
            cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE_BYTES)
            for _ in range(WORKER_NODES)
        ]
        cluster.wait_for_nodes()
    try:
        ids = {"head": cluster.head_node.node_id, "workers": [n.node_id for n in workers]}
        print(json.dumps({"address": cluster.address, **ids}), flush=True)
        sys.stdin.read()  # until the test closes it (or dies)
    finally:
        cluster.shutdown()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
