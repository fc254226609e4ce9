"""The model's parameters, gradients and optimiser state, each in one flat float32 buffer.

The buffers are the real thing, not copies: every `nn.Parameter` keeps its identity but its
`.data` becomes a view of `data`, its `.grad` a view of `grad`, and the optimiser's state
tensors views of the slot buffers. So eager steps, probes, export and `load_state_dict` read and
write the same memory the fast path updates with NumPy (a NumPy array over a CPU tensor shares
its storage), and the optimiser can take over again at any step. Weights (tensors with
dim > 1) come first, then biases: L1 and a bias-free L2 touch `[:n_weights]` only.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# Per-parameter state tensors each optimiser keeps (besides "step"), as torch names them.
SLOTS: dict[str, tuple[str, ...]] = {
    "sgd": ("momentum_buffer",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
    "rmsprop": ("square_avg", "momentum_buffer"),
}
COUNTS_STEPS = {"adam", "adamw", "rmsprop"}


class FlatState:
    """One model's parameters, gradients and optimiser state in flat buffers (P,)."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, kind: str):
        params = list(model.parameters())
        ordered = [p for p in params if p.dim() > 1] + [p for p in params if p.dim() <= 1]
        self.params = ordered
        self.optimizer = optimizer
        self.n_weights = sum(p.numel() for p in ordered if p.dim() > 1)
        total = sum(p.numel() for p in ordered)
        self.offsets: list[int] = []
        offset = 0
        for p in ordered:
            self.offsets.append(offset)
            offset += p.numel()
        self.data = torch.zeros(total)  # (P,) every parameter, weights first
        self.grad = torch.zeros(total)  # (P,) their gradients from the last step
        momentum = optimizer.param_groups[0].get("momentum", 0.0)
        names = [s for s in SLOTS[kind] if s != "momentum_buffer" or momentum != 0]
        self.slots = {name: torch.zeros(total) for name in names}
        self.counts_steps = kind in COUNTS_STEPS
        self.step_count = 0
        self._adopt()
        self.np_data = self.data.numpy()
        self.np_grad = self.grad.numpy()
        self.np_slots = {name: t.numpy() for name, t in self.slots.items()}

    def _view(self, flat: torch.Tensor, i: int) -> torch.Tensor:
        p = self.params[i]
        return flat[self.offsets[i] : self.offsets[i] + p.numel()].view(p.shape)

    def _adopt(self) -> None:
        """Copy the current values and state into the buffers and point everything at them."""
        state = self.optimizer.state
        steps = [float(state[p]["step"]) for p in self.params if "step" in state.get(p, {})]
        self.step_count = int(max(steps, default=0))
        with torch.no_grad():
            for i, p in enumerate(self.params):
                view = self._view(self.data, i)
                view.copy_(p.detach())
                p.data = view
                p_state = state[p]  # a defaultdict: creates the entry
                for name, flat in self.slots.items():
                    slot = self._view(flat, i)
                    old = p_state.get(name)
                    if old is not None:
                        slot.copy_(old)
                    p_state[name] = slot
                if self.counts_steps:
                    p_state["step"] = torch.tensor(float(self.step_count))
        self.bind()

    def bind(self) -> None:
        """Before fast steps: parameters that moved (assigned new data) are adopted again,
        and `.grad` is pointed back at the buffer (an eager step replaces it)."""
        base = self.data.data_ptr()
        for i, p in enumerate(self.params):
            if p.data_ptr() != base + 4 * self.offsets[i]:
                self._adopt()
                return
        gbase = self.grad.data_ptr()
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None or g.data_ptr() != gbase + 4 * self.offsets[i]:
                if g is not None:
                    self._view(self.grad, i).copy_(g)
                p.grad = self._view(self.grad, i)

    def sync_steps(self) -> None:
        """After fast steps: the optimiser's own step counters show the steps taken."""
        if self.counts_steps:
            for p in self.params:
                self.optimizer.state[p]["step"].fill_(float(self.step_count))

    def read_steps(self) -> None:
        """Before fast steps: eager steps in between advanced the optimiser's counters."""
        if self.counts_steps:
            self.step_count = int(self.optimizer.state[self.params[0]]["step"])

    def index(self, p: nn.Parameter) -> int:
        return next(k for k, q in enumerate(self.params) if q is p)

    def views(self, p: nn.Parameter) -> tuple[np.ndarray, np.ndarray]:
        """NumPy views of one parameter and its gradient, in the parameter's shape."""
        i = self.index(p)
        lo, hi = self.offsets[i], self.offsets[i] + p.numel()
        return self.np_data[lo:hi].reshape(p.shape), self.np_grad[lo:hi].reshape(p.shape)
