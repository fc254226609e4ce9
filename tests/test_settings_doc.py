"""The settings tables in README.md and docs/internals.md are the settings class's own: every
field, in its part, with its environment name, default and description."""

from __future__ import annotations

from pathlib import Path

import pytest

from server import settings_doc
from server.config import PARTS, Settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(settings_doc.DOCS))
def test_the_settings_tables_are_generated_from_the_class(name):
    found = settings_doc.current(ROOT / name)
    assert found is not None, f"{name} has no generated settings block"
    expected = settings_doc.block(settings_doc.DOCS[name])
    assert found == expected, (
        f"{name}'s settings tables differ from server/config.py: run "
        "`python -m server.settings_doc` (and describe new settings with setting(part=...))"
    )


def test_every_setting_has_a_part_and_says_what_it_is():
    for name, info in Settings.model_fields.items():
        assert settings_doc.part_of(info) in PARTS, f"{name} belongs to no part"
        assert info.description, f"{name} has no description"


def test_every_setting_is_in_the_readme_once():
    text = (ROOT / "README.md").read_text()
    block = settings_doc.current(ROOT / "README.md") or ""
    for name in Settings.model_fields:
        assert block.count(f"`LAYERLAB_{name.upper()}`") == 1, name
    assert text.count(settings_doc.BEGIN) == 1


def test_a_changed_setting_makes_the_docs_disagree(tmp_path, monkeypatch):
    for name in settings_doc.DOCS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text())
    assert settings_doc.write(tmp_path) == []  # as generated
    field = Settings.model_fields["max_layers"]
    monkeypatch.setattr(field, "description", "a description nobody wrote down")
    assert settings_doc.current(tmp_path / "README.md") != settings_doc.block(False)
    assert settings_doc.write(tmp_path) == sorted(settings_doc.DOCS)
    assert "a description nobody wrote down" in (tmp_path / "README.md").read_text()


def test_defaults_read_as_people_write_them():
    fields = Settings.model_fields
    assert settings_doc.shown_default("upload_max_bytes", fields["upload_max_bytes"]) == "16 MiB"
    assert settings_doc.shown_default("max_step_flops", fields["max_step_flops"]) == "2e9"
    assert settings_doc.shown_default("fast_path", fields["fast_path"]) == "`true`"
    assert settings_doc.shown_default("max_samples", fields["max_samples"]) == "70,000"
    assert settings_doc.shown_default("workers", fields["workers"]) == "the number of cores"
