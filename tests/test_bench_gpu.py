"""bench/gpu.py must run first time on a GPU machine: its quick mode runs whole on the CPU."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.servers import ROOT


def test_the_gpu_benchmark_runs_whole_in_quick_mode_on_the_cpu():
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.gpu", "--quick", "--device", "cpu"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for case in ("digits CNN", "MNIST-sized CNN", "spiral MLP"):
        assert re.search(rf"^{case} on cpu: .* speed \d+\.\d\dx", out, re.M), out
    assert re.search(r"^N=\s+4: \d/4 runs at pace .* API p50 \d+ ms p99 \d+ ms", out, re.M), out
    assert "largest N that held on cpu" in out
