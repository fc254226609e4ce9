"""The settings tables of README.md and docs/internals.md, generated from `Settings`.

`python -m server.settings_doc` rewrites the text between the markers in both files;
`tests/test_settings_doc.py` fails when what is there is not what this module generates.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from .config import PARTS, Settings

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- settings:begin (generated from server/config.py: python -m server.settings_doc) -->"
END = "<!-- settings:end -->"
DOCS = {"README.md": False, "docs/internals.md": True}  # file -> with the attribute column
_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)


def part_of(info: FieldInfo) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return str(extra.get("part", "other"))


def shown_default(name: str, info: FieldInfo) -> str:
    """The default as a person reads it: `16 MiB`, `2e9`, `true`, `none`."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if "shown" in extra:
        return str(extra["shown"])
    value: Any = info.get_default(call_default_factory=True)
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str | Path):
        return f"`{value}`" if str(value) else "empty"
    if isinstance(value, list):
        return ", ".join(f"`{v}`" for v in value) or "none"
    if isinstance(value, int) and name.endswith("_bytes") and value >= 1024:
        for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
            if value % size == 0:
                return f"{value // size:,} {unit}"
    if isinstance(value, float) and value >= 1e6:
        exponent = int(math.floor(math.log10(value)))
        return f"{value / 10**exponent:g}e{exponent}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}" if value >= 10_000 else str(value)
    return f"`{value}`"


def tables(attributes: bool = False) -> str:
    """One table per part, in `PARTS` order (fields of no known part last, under Other)."""
    fields = Settings.model_fields
    parts = [*PARTS, *sorted({part_of(f) for f in fields.values()} - set(PARTS))]
    out: list[str] = []
    for part in parts:
        names = [n for n, f in fields.items() if part_of(f) == part]
        if not names:
            continue
        title, about = PARTS.get(part, ("Other", "settings not yet given a part"))
        out += [f"**{title}**: {about}.", ""]
        head = ["setting"] if attributes else []
        out.append("| " + " | ".join([*head, "variable", "default", "meaning"]) + " |")
        out.append("|" + "---|" * (len(head) + 3))
        for name in names:
            info = fields[name]
            cells = [f"`{name}`"] if attributes else []
            cells += [f"`LAYERLAB_{name.upper()}`", shown_default(name, info)]
            cells.append((info.description or "").replace("|", "\\|"))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def block(attributes: bool) -> str:
    return f"{BEGIN}\n{tables(attributes)}{END}"


def current(path: Path) -> str | None:
    """The generated block as the file has it now (None: no markers)."""
    found = _BLOCK.search(path.read_text())
    return found.group(0) if found else None


def write(root: Path = ROOT) -> list[str]:
    """Rewrite the block in every document; the names of those that changed."""
    changed = []
    for name, attributes in DOCS.items():
        path = root / name
        text = path.read_text()
        if _BLOCK.search(text) is None:
            raise SystemExit(f"{name}: no {BEGIN!r} ... {END!r} markers")
        found = _BLOCK.search(text)
        assert found is not None
        new = text[: found.start()] + block(attributes) + text[found.end() :]
        if new != text:
            path.write_text(new)
            changed.append(name)
    return changed


if __name__ == "__main__":
    changed = write()
    print("rewrote " + ", ".join(changed) if changed else "up to date", file=sys.stderr)
