"""The exported script's forward() for a graph design: one line per layer, in the order the
graph computes them, naming what each layer reads (`h3 = self.body[3](h0, h2)`), so a reader
sees the skips and joins in plain Python rather than in a wiring table."""

from __future__ import annotations

from .model import Plan


def graph_class_source(plan: Plan) -> str:
    """`class GraphNetwork(Network)` with the design's wiring written out as its forward()."""
    assert plan.wiring is not None
    lines = [
        "class GraphNetwork(Network):",
        '    """The same layers as Network, wired as a graph: each line computes one layer from',
        '    the outputs it reads (x: the network\'s input)."""',
        "",
        "    def forward(self, x: Tensor) -> Tensor:",
    ]
    by_index = {layer.index: layer for layer in plan.layers}
    for i in plan.wiring.order:
        layer = by_index[i]
        args = ", ".join("x" if j < 0 else f"h{j}" for j in plan.wiring.inputs[i])
        ident = plan.wiring.ids[i] if i < len(plan.wiring.ids) else None
        note = f"  # layer {i}: {layer.kind.name}" + (f" {ident!r}" if ident else "")
        lines.append(f"        h{i} = self.body[{i}]({args}){note}")
    last = len(plan.layers) - 1
    lines.append(f"        return self.head(h{last})")
    return "\n".join(lines)
