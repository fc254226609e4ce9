"""What is wrong with an uploaded file, in words that name the place: row, column or file."""

from __future__ import annotations


class UploadError(ValueError):
    """A file that cannot become a dataset. `status`: 422 for its content, 413 for a limit.

    `where` names the place (`{"row": 5, "column": "price"}`, `{"file": "cats/x.txt"}`), so a
    client can point at it; the message says it too."""

    def __init__(self, msg: str, *, status: int = 422, kind: str = "bad_file", **where: object):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.kind = kind
        self.where = {k: v for k, v in where.items() if v is not None}

    def detail(self) -> list[dict]:
        """FastAPI-style detail: one `{loc, msg, type, ...where}`."""
        return [{"loc": ["body", "file"], "msg": self.msg, "type": self.kind, **self.where}]


def too_large(msg: str, **where: object) -> UploadError:
    return UploadError(msg, status=413, kind="too_large", **where)
