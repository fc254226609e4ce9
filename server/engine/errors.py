"""Errors the engine raises: each names what is wrong in words a user can act on."""

from __future__ import annotations

from collections.abc import Sequence


class ExperimentError(ValueError):
    """An experiment that cannot run. `errors` follow pydantic's shape: `{loc, msg, type}`.

    `loc` is a tuple into the experiment document, e.g. `("model", "layers", 3, "kernel_size")`,
    so the API can return it as a 422 and the page can show it at the right layer.
    """

    def __init__(self, errors: Sequence[dict]):
        self.errors = [
            {"loc": tuple(e["loc"]), "msg": e["msg"], "type": e.get("type", "value_error")}
            for e in errors
        ]
        super().__init__("; ".join(f"{_loc_text(e['loc'])}: {e['msg']}" for e in self.errors))

    @classmethod
    def single(cls, loc: Sequence, msg: str, type_: str = "value_error") -> ExperimentError:
        return cls([{"loc": tuple(loc), "msg": msg, "type": type_}])


def error_list(err: ExperimentError) -> list[dict]:
    """The errors as JSON: `loc` as a list, as FastAPI's own 422s have it."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in err.errors]


class ShapeError(ValueError):
    """A layer that cannot accept its input shape; the message says why and what would fix it."""


class Diverged(RuntimeError):
    """Training produced a non-finite loss."""


def _loc_text(loc: Sequence) -> str:
    return ".".join(str(part) for part in loc) or "experiment"
