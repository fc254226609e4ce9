"""The class board in Chromium with a teacher and three students (each their own browser
context): joining comes first; the dashboard holds its row order while the pointer is on it
and the clicked Spotlight is the right student's; the race board shows every live run by alias
(never a real name) with thumbnails and spotlights in one click; a push is asked first, waits
while a student's run goes on, and a student goes back to their own design in one click."""

from __future__ import annotations

import pytest
from browser_helpers import experiment_hash, spiral, wait_status
from class_pages import SIZES, expect_removal
from class_pages import own_browser as machine

pytestmark = pytest.mark.browser

NAMES = ("Ada Quinn", "Bo Ruiz", "Cy Tanaka")


def units_design(units: int) -> dict:
    doc = spiral(epochs=None)
    doc["model"]["layers"][0]["units"] = units
    return doc


def units(watch) -> int:
    return watch.page.evaluate("window.layerlab.experiment.model.layers[0].units")


def join_and_train(watch, code: str, name: str, units_: int) -> str:
    page = watch.page
    page.goto(f"{watch.base}/#class={code}")
    page.wait_for_selector("body[data-ready='true']", timeout=20_000)
    page.evaluate("(h) => { window.location.hash = h; }", experiment_hash(units_design(units_)))
    page.wait_for_function(
        "(u) => window.layerlab.experiment.model.layers[0].units === u", arg=units_
    )
    page.fill("#class-name", name)
    page.click("#class-join")
    page.wait_for_function(
        "(n) => document.getElementById('class-who')?.textContent.includes(n)", arg=name
    )
    page.click("#train")
    wait_status(page, "running")
    return page.evaluate("window.layerlab.session.runId")


def dashboard_ticks(teacher, count: int) -> None:
    """Wait for `count` more dashboard messages on the teacher's page."""
    for _ in range(count):
        stamp = teacher.page.evaluate("document.body.dataset.dashboardTime || ''")
        teacher.page.wait_for_function(
            "(s) => (document.body.dataset.dashboardTime || '') !== s", arg=stamp
        )


def test_dashboard_race_board_and_push_with_a_teacher_and_three_students(browser, server_url):
    with (
        machine(browser, server_url, 1280, 720) as teacher,
        machine(browser, server_url) as ada,
        machine(browser, server_url) as bo,
        machine(browser, server_url) as cy,
    ):
        teacher.page.goto(f"{server_url}/teach")
        teacher.page.fill("#class-title", "Board 7")
        teacher.page.click("#open-class")
        code = teacher.page.text_content("#join-code")
        answers = {"prompt": "Cyrus T"}  # what the teacher types into a prompt
        teacher.page.on(
            "dialog",
            lambda d: d.accept(answers[d.type]) if d.type in answers else d.accept(),
        )

        # Joining comes first: Train on the class link without a name starts nothing.
        cy.page.goto(f"{server_url}/#class={code}")
        cy.page.wait_for_selector("body[data-ready='true']", timeout=20_000)
        cy.page.click("#train")
        cy.page.wait_for_function(
            "() => document.getElementById('run-status')?.textContent.includes('Join the class')"
            " || document.body.textContent.includes('Join the class first')"
        )
        assert cy.page.evaluate("window.layerlab.session.runId") is None
        # A design check landing now leaves the message be: it clears the design's own errors
        # only (it once cleared this one, on a loaded CI machine).
        cy.page.evaluate("(h) => { window.location.hash = h; }", experiment_hash(units_design(3)))
        cy.page.wait_for_function("() => window.layerlab.experiment.model.layers[0].units === 3")
        assert cy.page.evaluate("async () => (await window.layerlab.checked()).ok")
        status = cy.page.evaluate(
            "[window.layerlab.session.status, window.layerlab.session.message]"
        )
        assert status[0] == "error" and status[1].startswith("Join the class first"), status

        runs = {
            name: join_and_train(w, code, name, u)
            for w, name, u in ((ada, NAMES[0], 6), (bo, NAMES[1], 5), (cy, NAMES[2], 4))
        }
        teacher.page.wait_for_function(
            """() => [...document.querySelectorAll('#dashboard-rows tr')].filter(
                (r) => r.dataset.status === 'running' && r.querySelector('.val-loss').textContent !== '–'
            ).length === 3""",
            timeout=60_000,
        )
        aliases = teacher.page.eval_on_selector_all(
            "#dashboard-rows .student-alias", "els => els.map((e) => e.textContent.slice(1, -1))"
        )
        assert len(set(aliases)) == 3 and not set(aliases) & set(NAMES)

        # The pointer rests on the table: updates flow, cells change in place, rows stay put.
        teacher.page.hover("#dashboard thead")
        held = teacher.page.evaluate(
            "[...document.querySelectorAll('#dashboard-rows tr')].map((r) => r.dataset.student)"
        )
        first = teacher.page.locator("#dashboard-rows tr").first
        epoch_before = int(first.locator(".epoch").text_content())
        dashboard_ticks(teacher, 3)
        assert (
            teacher.page.evaluate(
                "[...document.querySelectorAll('#dashboard-rows tr')].map((r) => r.dataset.student)"
            )
            == held
        )
        assert int(first.locator(".epoch").text_content()) > epoch_before  # updated in place
        # Ada stops her run; Bo's goes on. The teacher pushes Cy's design (asked first), the
        # pointer still on the table.
        ada.page.click("#stop")
        wait_status(ada.page, "stopped")
        teacher.page.locator("#dashboard-rows tr", has_text=NAMES[2]).locator(
            ".push-button"
        ).click()
        ada.page.wait_for_selector("#push-undo", timeout=20_000)
        assert units(ada) == 4
        bo.page.wait_for_selector("#push-load")
        assert bo.page.evaluate("window.layerlab.session.status") == "running"
        assert units(bo) == 5  # nothing changed under Bo's running run
        # One click back to what Ada had.
        ada.page.click("#push-undo")
        ada.page.wait_for_function("() => window.layerlab.experiment.model.layers[0].units === 6")
        ada.screenshot("class-board-student-push-undo-1280x720")
        # The row whose button is clicked is the student spotlighted.
        target = teacher.page.locator("#dashboard-rows tr", has_text=NAMES[1])
        target.locator(".spotlight-button").click()
        bo_run = runs[NAMES[1]]
        # Every page, Bo's own too, before the spotlight can end: a page whose GET of the run
        # reached the server after the end would be refused it (a 403 in its console).
        for student in (ada, bo, cy):
            student.page.wait_for_function(
                "(id) => window.layerlab.watching === id", arg=bo_run, timeout=20_000
            )
        footer = teacher.page.text_content("#dashboard-footer")
        assert "3 students" in footer and "worker" not in footer.lower()
        for label, (w, h) in SIZES.items():
            teacher.page.set_viewport_size({"width": w, "height": h})
            teacher.screenshot(f"class-board-dashboard-{label}")
        teacher.page.set_viewport_size({"width": 1280, "height": 720})
        row_height = teacher.page.evaluate(
            "document.querySelector('#dashboard-rows tr').getBoundingClientRect().height"
        )
        assert row_height <= 36, row_height  # about 14 rows fit under the controls at 1280x720
        small = teacher.page.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('dashboard')).fontSize)"
        )
        teacher.page.set_viewport_size({"width": 1920, "height": 1080})
        big = teacher.page.evaluate(
            "parseFloat(getComputedStyle(document.getElementById('dashboard')).fontSize)"
        )
        assert big > small  # type grows on a big screen
        teacher.screenshot("class-board-dashboard-1920x1080")
        teacher.page.set_viewport_size({"width": 1280, "height": 720})
        teacher.page.click("#end-spotlight")

        # The race board: the teacher's projector, in the same browser (the token is there).
        race = teacher.page.context.new_page()
        race.goto(f"{server_url}/race#class={code}")
        race.wait_for_function(
            """() => [...document.querySelectorAll('.race-card')].filter(
                (c) => c.querySelector('.race-thumb').dataset.kind === 'surface').length === 3""",
            timeout=60_000,
        )
        shown = race.eval_on_selector_all(".race-name", "els => els.map((e) => e.textContent)")
        assert sorted(shown) == sorted(aliases)
        text = race.evaluate("document.body.innerText")
        assert not any(name in text for name in NAMES), text
        colours = race.evaluate(
            """() => {
                const c = document.querySelector('.race-thumb');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const seen = new Set();
                for (let i = 0; i < d.length; i += 4) seen.add(`${d[i]},${d[i+1]},${d[i+2]}`);
                return seen.size;
            }"""
        )
        assert colours > 8  # a drawn surface, not a blank square
        updated = race.evaluate("document.body.dataset.updated")
        race.wait_for_function("(u) => document.body.dataset.updated !== u", arg=updated)
        for label, (w, h) in SIZES.items():
            race.set_viewport_size({"width": w, "height": h})
            race.screenshot(path=f"test-artifacts/class-board-race-{label}.png", full_page=True)
        race.set_viewport_size({"width": 1280, "height": 720})
        # Spotlight, one click from the board.
        alias_of_cy = race.evaluate(
            "(id) => [...document.querySelectorAll('.race-card')].find("
            "(c) => c.dataset.student === id).querySelector('.race-name').textContent",
            teacher.page.evaluate(
                "(n) => [...document.querySelectorAll('#dashboard-rows tr')].find("
                "(r) => r.textContent.includes(n)).dataset.student",
                NAMES[2],
            ),
        )
        race.locator(".race-card", has_text=alias_of_cy).locator(".race-spotlight").click()
        for student in (ada, bo, cy):
            student.page.wait_for_function(
                "(id) => window.layerlab.watching === id", arg=runs[NAMES[2]], timeout=20_000
            )
        race.close()
        teacher.page.click("#end-spotlight")
        for student in (ada, bo, cy):
            student.page.wait_for_function("() => window.layerlab.watching === null")

        # Rejoining from the same browser: a reload is still Ada, no join form.
        ada.page.reload()
        ada.page.wait_for_function(
            "(n) => document.getElementById('class-who')?.textContent.includes(n)", arg=NAMES[0]
        )
        assert ada.page.locator("#class-name").count() == 0

        # The teacher renames Cy, then removes Bo: the rows follow, Bo's run stops.
        cy_row = teacher.page.locator("#dashboard-rows tr", has_text=NAMES[2])
        cy_row.locator(".row-more summary").click()
        cy_row.locator(".rename-button").click()
        teacher.page.wait_for_selector("#dashboard-rows tr:has-text('Cyrus T')")
        # Then, with editing locked and Cy's run in the spotlight, removes Bo. Bo's page leaves
        # the spotlight for his own design, unlocked, and lets his run be: the removal stopped
        # it and ended his access to it (the page once stayed on Cy's run, refused and locked,
        # beating for a run it no longer showed).
        teacher.page.click("#lock")
        bo.page.wait_for_function("() => document.getElementById('layers-panel').disabled")
        teacher.page.locator("#dashboard-rows tr", has_text="Cyrus T").locator(
            ".spotlight-button"
        ).click()
        bo.page.wait_for_function(
            "(id) => window.layerlab.watching === id", arg=runs[NAMES[2]], timeout=20_000
        )
        assert units(bo) == 4  # Cy's design, on show
        assert bo.page.locator("#class-push").is_visible()  # the push he has not loaded
        assert bo.page.locator("#class-help").is_visible()
        bo_row = teacher.page.locator("#dashboard-rows tr", has_text=NAMES[1])
        expect_removal(bo)
        bo_row.locator(".row-more summary").click()
        bo_row.locator(".remove-button").click()
        teacher.page.wait_for_function(
            "() => document.querySelectorAll('#dashboard-rows tr').length === 2"
        )
        bo.page.wait_for_function(
            "() => window.layerlab.watching === null && window.layerlab.session.runId === null"
        )
        assert units(bo) == 5  # his own design back
        # The class's panels went with it: the help (a hand raised now would reach nobody)
        # and the teacher's push, still offered before.
        assert bo.page.locator("#class-help").is_hidden()
        assert bo.page.locator("#class-push").is_hidden()
        assert bo.page.evaluate("async () => (await window.layerlab.checked()).ok")
        bo.screenshot("class-board-student-removed-1280x720")
        assert not bo.page.evaluate("document.getElementById('layers-panel').disabled")
        names = teacher.page.eval_on_selector_all(
            "#dashboard-rows .student-name", "els => els.map((e) => e.textContent)"
        )
        assert sorted(names) == [NAMES[0], "Cyrus T"]
        bo.page.wait_for_selector("#class-name")  # Bo's page is told: join again to come back
        assert "removed you" in bo.page.text_content("#class-error")
        bo_status = teacher.page.evaluate(
            """async (id) => {
                const {token} = JSON.parse(localStorage.getItem('layerlab.teacher'));
                const r = await fetch(`/api/runs/${id}`, {headers: {'X-Teacher-Token': token}});
                return (await r.json()).status;
            }""",
            runs[NAMES[1]],
        )
        assert bo_status == "stopped"
        teacher.page.click("#stop-all")


def test_the_dashboard_draws_the_servers_flags_and_holds_its_order(browser, server_url):
    """The contract with the help flags: `diagnosis` [{code, sentence}] and `hand` in a row are
    drawn as flags (absent: none); a re-sorted message while the pointer is on the table moves
    no row, and the same message moves them once the pointer leaves."""
    with machine(browser, server_url) as watch:
        page = watch.page
        page.goto(f"{server_url}/teach")
        page.wait_for_selector("body[data-ready='true']")
        result = page.evaluate(
            """async () => {
                const {classDashboard} = await import('/static/js/widgets/class-dashboard.js');
                const root = document.createElement('section');
                document.body.prepend(root);
                const board = classDashboard({root, onSpotlight() {}, onPush() {}, onRename() {},
                                              onGroup() {}, onRemove() {}});
                const row = (id, rank, extra = {}) => ({student: id, name: `N${id}`,
                    alias: `A${id}`, group: null, rank, run_id: `r${id}`, status: 'running',
                    epoch: 3, val_loss: 0.5, metric: 0.9 - rank / 10,
                    metric_name: 'val_accuracy', spark: [1, 0.8, 0.6], ...extra});
                const msg = (ranks) => ({type: 'dashboard', time: 1, active: 3, groups: [],
                    class: {spotlight: null}, students: [
                        row('a', ranks[0], {diagnosis: [{code: 'dead_relu',
                            sentence: 'Most units of layer 1 never fire.'}]}),
                        row('b', ranks[1], {hand: true}),
                        row('c', ranks[2])]});
                board.update(msg([1, 2, 3]));
                const first = board.rowOrder();
                const table = root.querySelector('table');
                table.dispatchEvent(new PointerEvent('pointerenter'));
                board.update(msg([3, 2, 1]));
                const held = board.rowOrder();
                table.dispatchEvent(new PointerEvent('pointerleave'));
                const after = board.rowOrder();
                const flags = [...root.querySelectorAll('.flag')].map(
                    (f) => [f.closest('tr').dataset.student, f.textContent, f.title]);
                return {first, held, after, flags};
            }"""
        )
        assert result["first"] == ["a", "b", "c"]
        assert result["held"] == ["a", "b", "c"]  # the pointer is on the table: nothing moves
        assert result["after"] == ["c", "b", "a"]
        assert sorted(result["flags"]) == [
            ["a", "dead relu", "Most units of layer 1 never fire."],
            ["b", "✋ hand", "This student raised a hand"],
        ]
