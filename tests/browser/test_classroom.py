"""The classroom in Chromium: a teacher opens a class, two students (separate browser contexts,
as on their own machines) join with the code and train; the dashboard shows them both; the
spotlight switches both students' pages to one run and back; a push and the lock arrive."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_helpers import experiment_hash, spiral, wait_status
from class_pages import SIZES, own_browser

pytestmark = pytest.mark.browser


def locked(page) -> bool:
    """The data panel (a fieldset: every field in it) is disabled."""
    return page.page.evaluate("document.getElementById('dataset-panel').disabled")


def design(units: int) -> dict:
    doc = spiral(epochs=None)
    doc["model"]["layers"][0]["units"] = units
    return doc


def join(student, code: str, name: str, design: dict) -> str:
    student.page.goto(f"{student.base}/#class={code}")
    student.page.wait_for_selector("body[data-ready='true']", timeout=20_000)
    student.page.fill("#class-name", name)
    student.page.click("#class-join")
    student.page.wait_for_function(
        "(n) => document.getElementById('class-who')?.textContent.includes(n)", arg=name
    )
    # The class stays with the tab while the design changes (the hash is the design's again).
    student.page.evaluate("(h) => { window.location.hash = h; }", experiment_hash(design))
    student.page.wait_for_function(
        "(u) => window.layerlab.experiment.model.layers[0].units === u",
        arg=design["model"]["layers"][0]["units"],
    )
    student.page.click("#train")
    wait_status(student.page, "running")
    return student.page.evaluate("window.layerlab.session.runId")


def test_teacher_and_two_students(browser, server_url):
    with (
        own_browser(browser, server_url, 1440, 900) as teacher,
        own_browser(browser, server_url) as ada,
        own_browser(browser, server_url) as bo,
    ):
        teacher.page.goto(f"{server_url}/teach")
        teacher.page.fill("#class-title", "Year 10")
        teacher.page.click("#open-class")
        code = teacher.page.text_content("#join-code")
        assert code and len(code) == 7 and code[3] == "-"

        run_a = join(ada, code, "Ada", design(6))
        run_b = join(bo, code, "Bo", design(5))
        assert run_a != run_b

        # The dashboard: both students, live, with their runs' numbers.
        teacher.page.wait_for_function(
            """() => {
                const rows = [...document.querySelectorAll('#dashboard-rows tr')];
                return rows.length === 2 && rows.every((r) =>
                    r.dataset.status === 'running' &&
                    Number(r.querySelector('td.num').textContent) > 0 &&
                    r.querySelector('.val-loss').textContent !== '–');
            }""",
            timeout=60_000,
        )
        names = teacher.page.eval_on_selector_all(
            "#dashboard-rows .student-name", "els => els.map((e) => e.textContent)"
        )
        assert sorted(names) == ["Ada", "Bo"]
        for name, (w, h) in SIZES.items():
            teacher.page.set_viewport_size({"width": w, "height": h})
            teacher.screenshot(f"classroom-teacher-{name}")
        teacher.page.set_viewport_size({"width": 1440, "height": 900})

        # The spotlight: both students' pages watch Bo's run, read-only.
        teacher.page.click(f"#dashboard-rows tr[data-run='{run_b}'] .spotlight-button")
        for student in (ada, bo):
            student.page.wait_for_function(
                "(id) => window.layerlab.watching === id", arg=run_b, timeout=20_000
            )
            student.page.wait_for_selector("#class-spotlight")
            student.page.wait_for_selector("#watch-banner:not([hidden])")
            assert locked(student)
        # Ada's own run goes on meanwhile: her page still beats for it (the server pauses a
        # run whose owner's page went quiet), though it shows Bo's.
        with ada.page.expect_request(
            lambda r: r.method == "POST" and r.url.endswith(f"/api/runs/{run_a}/presence"),
            timeout=30_000,
        ):
            pass
        # Ada's page follows Bo's run live.
        start = ada.page.evaluate("window.layerlab.session.epoch")
        ada.page.wait_for_function(
            "(e) => window.layerlab.session.epoch > e", arg=start, timeout=30_000
        )
        assert ada.page.evaluate("window.layerlab.session.runId") == run_b
        for name, (w, h) in SIZES.items():
            ada.page.set_viewport_size({"width": w, "height": h})
            ada.screenshot(f"classroom-student-spotlight-{name}")
        ada.page.set_viewport_size({"width": 1280, "height": 720})

        # The spotlight ends: each page is the student's own design again, following the
        # student's own run, still running, its history whole.
        teacher.page.click("#end-spotlight")
        for student, units, run in ((ada, 6, run_a), (bo, 5, run_b)):
            student.page.wait_for_function("() => window.layerlab.watching === null")
            student.page.wait_for_function(
                "(u) => window.layerlab.experiment.model.layers[0].units === u", arg=units
            )
            assert not locked(student)
            student.page.wait_for_function(
                "(id) => window.layerlab.session.runId === id"
                " && window.layerlab.session.status === 'running'"
                " && window.layerlab.session.records.length > 0",
                arg=run,
            )
            assert student.page.evaluate("Boolean(window.layerlab.session.token)")

        # A push (asked first) waits behind "Load it" on Bo's page while his run goes on; loaded,
        # it is Ada's design (his run ends), with one click back; the lock disables editing there.
        teacher.page.on("dialog", lambda dialog: dialog.accept())
        teacher.page.click(f"#dashboard-rows tr[data-run='{run_a}'] .push-button")
        bo.page.wait_for_selector("#push-load", timeout=20_000)
        for name, (w, h) in SIZES.items():  # his own run, back after the spotlight, and the push
            bo.page.set_viewport_size({"width": w, "height": h})
            bo.screenshot(f"classroom-student-after-spotlight-push-{name}")
        bo.page.set_viewport_size({"width": 1280, "height": 720})
        bo.page.click("#push-load")
        bo.page.wait_for_function(
            "() => window.layerlab.experiment.model.layers[0].units === 6", timeout=20_000
        )
        bo.page.wait_for_selector("#push-undo")
        teacher.page.click("#lock")
        bo.page.wait_for_selector("#class-locked")
        assert locked(bo)
        teacher.page.wait_for_function(
            "() => document.getElementById('lock').getAttribute('aria-pressed') === 'true'"
        )
        teacher.page.click("#lock")
        bo.page.wait_for_function("() => !document.getElementById('class-locked')")
        assert not locked(bo)

        # Pause every run from the dashboard.
        teacher.page.click("#pause-all")
        teacher.page.wait_for_function(
            "() => document.getElementById('teach-status').textContent.includes('paused')"
        )
        teacher.page.wait_for_selector(  # Bo's run ended when he loaded the pushed design
            f"#dashboard-rows tr[data-run='{run_a}'][data-status='paused']", timeout=30_000
        )
        teacher.page.click("#stop-all")
        teacher.page.wait_for_function(
            """() => [...document.querySelectorAll('#dashboard-rows tr')]
                .every((r) => r.dataset.status === 'stopped')""",
            timeout=30_000,
        )


def test_a_student_downloads_their_own_runs_files(browser, server_url):
    """A class run's files answer its student only (X-Student-Token); the page's links send
    it, so the student's own download is the file, not a 403."""
    with (
        own_browser(browser, server_url, 1440, 900) as teacher,
        own_browser(browser, server_url) as cy,
    ):
        teacher.page.goto(f"{server_url}/teach")
        teacher.page.fill("#class-title", "Downloads")
        teacher.page.click("#open-class")
        code = teacher.page.text_content("#join-code")
        run_id = join(cy, code, "Cy", design(4))
        page = cy.page
        page.wait_for_function("window.layerlab.session.epoch >= 2")
        page.click("#stop")
        wait_status(page, "stopped")
        page.wait_for_selector("#export-links:not(.off)")
        # Without the token the server refuses: what a plain link would have got.
        cy.allow("status of 403")
        plain = page.evaluate(
            "(id) => fetch(`/api/runs/${id}/export/model.py`).then((r) => r.status)", run_id
        )
        assert plain == 403
        with page.expect_download() as script:
            page.click("#export-script")
        assert script.value.suggested_filename == "model.py"
        assert "import torch" in Path(script.value.path()).read_text(encoding="utf-8")
        with page.expect_download() as history:
            page.click("#export-history")
        rows = Path(history.value.path()).read_text(encoding="utf-8").splitlines()
        assert rows[0].startswith("epoch,") and len(rows) >= 3
