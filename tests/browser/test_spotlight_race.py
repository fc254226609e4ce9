"""A class's events racing a student's page: a spotlight that ends while the page is still
loading its run (the page enters nothing: the spotlight was what let it watch that run, so its
stream would be refused); a stream the server refuses (not retried for ever); Train pressed
as a spotlight starts (the page stays on the spotlight, the new run goes on). The first two
were seen as a CI failure: a student's page kept reconnecting to a spotlight run after the
spotlight ended, logging a 403 each time. Answers are held on their way to the page with
Playwright's routes, so each race happens in the same order on any machine."""

from __future__ import annotations

import pytest
from browser_helpers import HeldAnswers, experiment_hash, spiral, wait_status
from class_pages import SIZES, join, open_class, own_browser

pytestmark = pytest.mark.browser


def train_until_paused(student) -> str:
    """Start a run that trains until stopped (`epochs: null`); its id."""
    page = student.page
    page.evaluate("(h) => { window.location.hash = h; }", experiment_hash(spiral(epochs=None)))
    page.wait_for_function("() => window.layerlab.experiment.training.epochs == null")
    page.click("#train")
    wait_status(page, "running")
    return page.evaluate("window.layerlab.session.runId")


def class_with_a_run(teacher, ada, bo, title: str) -> tuple[str, str]:
    """A class where Bo trains until stopped and Ada has joined: Bo's run and the selector of
    its Spotlight button on the teacher's dashboard."""
    code = open_class(teacher, title)
    join(bo, code, "Bo")
    run_b = train_until_paused(bo)
    join(ada, code, "Ada")
    spot = f"#dashboard-rows tr[data-run='{run_b}'] .spotlight-button"
    teacher.page.wait_for_selector(spot, timeout=60_000)
    return run_b, spot


def test_a_spotlight_that_ends_while_its_run_loads_is_never_entered(browser, server_url):
    with (
        own_browser(browser, server_url) as teacher,
        own_browser(browser, server_url) as ada,
        own_browser(browser, server_url) as bo,
    ):
        run_b, spot = class_with_a_run(teacher, ada, bo, "Spotlight race")

        # Ada's page asks for Bo's run when the spotlight starts; the server answers at once
        # (the spotlight is on), and the answer is held on its way to the page.
        answers = HeldAnswers(ada.page, f"**/api/runs/{run_b}")
        teacher.page.click(spot)
        assert answers.first().status == 200
        # The spotlight ends before the answer arrives.
        teacher.page.click("#end-spotlight")
        ada.page.wait_for_function("() => !document.getElementById('class-spotlight')")
        loads = ada.page.evaluate("document.body.dataset.watchLoads || '0'")
        answers.release()
        ada.page.wait_for_function(
            "(n) => (document.body.dataset.watchLoads || '0') !== n", arg=loads
        )
        assert ada.page.evaluate("window.layerlab.watching") is None
        assert ada.page.evaluate("window.layerlab.session.runId") is None
        assert ada.page.evaluate("document.getElementById('watch-banner').hidden")

        # The next spotlight is entered as ever.
        teacher.page.click(spot)
        ada.page.wait_for_function(
            "(id) => window.layerlab.watching === id", arg=run_b, timeout=20_000
        )
        teacher.page.click("#end-spotlight")
        ada.page.wait_for_function("() => window.layerlab.watching === null")
        teacher.page.on("dialog", lambda dialog: dialog.accept())  # "Stop every run?"
        teacher.page.click("#stop-all")
        teacher.page.wait_for_selector(
            f"#dashboard-rows tr[data-run='{run_b}'][data-status='stopped']"
        )


def test_train_pressed_as_a_spotlight_starts_leaves_the_page_on_the_spotlight(browser, server_url):
    """The student's new run is created while the page turns to the spotlight: the page stays
    on the spotlight (it never follows the new run under the watched run's design), and the
    new run goes on for its owner, as a run already going does."""
    with (
        own_browser(browser, server_url) as teacher,
        own_browser(browser, server_url) as ada,
        own_browser(browser, server_url) as bo,
    ):
        run_b, spot = class_with_a_run(teacher, ada, bo, "Train and spotlight")

        # Ada presses Train: the server creates her run at once, its answer is held.
        answers = HeldAnswers(ada.page, "**/api/runs", method="POST")
        ada.page.evaluate(
            "(h) => { window.location.hash = h; }", experiment_hash(spiral(epochs=None))
        )
        ada.page.wait_for_function("() => window.layerlab.experiment.training.epochs == null")
        ada.page.click("#train")
        answer = answers.first()
        assert answer.status == 201, answer.text()
        run_a = answer.json()["id"]
        # The spotlight starts before the answer reaches her page.
        teacher.page.click(spot)
        ada.page.wait_for_function(
            "(id) => window.layerlab.watching === id", arg=run_b, timeout=20_000
        )
        answers.release()
        ada.page.wait_for_function(
            "(id) => (localStorage.getItem('layerlab.myRuns') || '').includes(id)", arg=run_a
        )  # the start has returned: "Compare runs" lists it as hers
        state = ada.page.evaluate(
            "[window.layerlab.watching, window.layerlab.session.runId,"
            " window.layerlab.session.token]"
        )
        assert state == [run_b, run_b, None], state  # still watching Bo's run, read-only
        teacher.page.wait_for_selector(
            f"#dashboard-rows tr[data-run='{run_a}'][data-status='running']", timeout=60_000
        )  # her run goes on

        teacher.page.click("#end-spotlight")
        ada.page.wait_for_function("() => window.layerlab.watching === null")
        teacher.page.on("dialog", lambda dialog: dialog.accept())  # "Stop every run?"
        teacher.page.click("#stop-all")
        for run in (run_a, run_b):
            teacher.page.wait_for_selector(
                f"#dashboard-rows tr[data-run='{run}'][data-status='stopped']"
            )


def test_a_stream_the_server_refuses_is_not_retried(browser, server_url):
    with (
        own_browser(browser, server_url) as teacher,
        own_browser(browser, server_url) as bo,
        own_browser(browser, server_url) as stranger,
    ):
        code = open_class(teacher, "Refused stream")
        join(bo, code, "Bo")
        run_b = train_until_paused(bo)
        stranger.open()
        stranger.allow(r"403")  # the refused handshake and the GET that asks why
        result = stranger.page.evaluate(
            """async (id) => {
                const {RunSocket} = await import('/static/js/api.js');
                const states = [];
                const why = await new Promise((resolve) => {
                    const socket = new RunSocket(id, {
                        onConnection: (state) => states.push(state),
                        onRefused: resolve,
                    });
                    // A guard only: without the fix the socket retries for ever, never refused.
                    setTimeout(() => { socket.close(); resolve(null); }, 20000);
                });
                return {why, states};
            }""",
            run_b,
        )
        assert result["why"] and run_b in result["why"] and code in result["why"], result
        assert result["states"] == ["connecting", "closed"], result  # no reconnect
        # The page's own session says why, in its error line.
        stranger.page.evaluate("(id) => window.layerlab.session.connect(id)", run_b)
        stranger.page.wait_for_selector("#page-error:not([hidden])")
        assert run_b in stranger.page.text_content("#page-error")
        for name, (w, h) in SIZES.items():
            stranger.page.set_viewport_size({"width": w, "height": h})
            stranger.screenshot(f"refused-stream-{name}")
        bo.page.click("#stop")
        wait_status(bo.page, "stopped")
