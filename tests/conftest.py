"""Shared test setup: one torch thread per test process, as in a worker."""

import torch

torch.set_num_threads(1)
