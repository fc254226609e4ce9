"""Predict, then reveal in Chromium: a teacher asks, three students (each their own browser
context) answer on their pages, one trains, and after the reveal every page (and the teacher's
projector) shows the answers, without names, beside the real result. And help flags: a student
whose run blows up reads why, and what to change, on their page, and raises a hand (the
dashboard entry's `hand`: tests/api/test_class_experiment.py)."""

from __future__ import annotations

import pytest
from browser_helpers import PageWatch, experiment_hash, spiral, wait_status
from class_pages import SIZES, expect_removal, join, open_class, own_browser

pytestmark = pytest.mark.browser

CHOICES = ["0.0001", "0.01", "10"]


def train(student, design: dict) -> str:
    student.page.evaluate("(h) => { window.location.hash = h; }", experiment_hash(design))
    student.page.wait_for_function(
        "(lr) => window.layerlab.experiment.training.learning_rate === lr",
        arg=design["training"]["learning_rate"],
    )
    student.page.click("#train")
    student.page.wait_for_function("() => Boolean(window.layerlab.session.runId)")
    return student.page.evaluate("window.layerlab.session.runId")


def test_predict_then_reveal_with_a_teacher_and_three_students(browser, server_url):
    with (
        own_browser(browser, server_url, 1440, 900) as teacher,
        own_browser(browser, server_url) as ada,
        own_browser(browser, server_url) as bo,
        own_browser(browser, server_url, 390, 844) as cy,
    ):
        code = open_class(teacher, "Predictions")
        students = {"Ada": ada, "Bo": bo, "Cy": cy}
        for name, student in students.items():
            join(student, code, name)

        # The teacher asks; the question appears on every student's page.
        teacher.page.select_option("#question-kind", "choice")
        teacher.page.fill("#question-text", "Which learning rate trains the spiral best?")
        teacher.page.fill("#question-choices", ", ".join(CHOICES))
        teacher.page.click("#question-ask")
        picks = {"Ada": 1, "Bo": 1, "Cy": 2}
        for name, student in students.items():
            student.page.wait_for_selector("#question-prompt")
            assert "learning rate" in student.page.text_content("#question-prompt")
            student.page.click(f".answer-choice[data-index='{picks[name]}']")
            student.page.wait_for_function(
                "() => document.getElementById('answer-note').textContent.includes('sent')"
            )
        teacher.page.wait_for_selector("#question-panel[data-answered='3']")
        # Nobody sees the others' answers before the reveal.
        assert ada.page.query_selector("#reveal") is None

        # Ada trains the answer's design to the end; the teacher spotlights her run.
        run = train(ada, spiral(epochs=30, learning_rate=0.01))
        wait_status(ada.page, "finished", timeout=120_000)
        teacher.page.click(f"#dashboard-rows tr[data-run='{run}'] .spotlight-button")
        teacher.page.wait_for_function("(r) => document.body.dataset.spotlight === r", arg=run)

        # A projector: the playground opened from the teacher's browser follows the class.
        projector = teacher.page.context.new_page()
        projector.goto(f"{server_url}/#class={code}")
        projector.wait_for_selector("#class-bar[data-role='teacher']")

        teacher.page.fill("#reveal-answer", "0.01")
        teacher.page.click("#question-reveal")
        for page in [*(s.page for s in students.values()), projector, teacher.page]:
            page.wait_for_selector("#reveal[data-answers='3']")
            result = page.text_content("#reveal-result")
            assert "The answer: 0.01" in result and "validation accuracy" in result, result
            counts = page.eval_on_selector_all(
                "#reveal .reveal-bar", "els => els.map((e) => Number(e.dataset.count))"
            )
            assert counts == [0, 2, 1]
            text = page.text_content("#reveal")
            assert not any(name in text for name in students), text  # anonymous
        for name, (w, h) in SIZES.items():
            projector.set_viewport_size({"width": w, "height": h})
            PageWatch(projector, server_url).screenshot(f"class-reveal-projector-{name}")
            cy.page.set_viewport_size({"width": w, "height": h})
            cy.screenshot(f"class-reveal-student-{name}")
            teacher.page.set_viewport_size({"width": w, "height": h})
            teacher.screenshot(f"class-reveal-teacher-{name}")

        # A sketch: Bo draws the boundary he expects; the reveal overlays it on the plane.
        teacher.page.select_option("#question-kind", "sketch")
        teacher.page.fill("#question-text", "Sketch the boundary you expect")
        teacher.page.click("#question-ask")
        bo.page.wait_for_selector("#sketch-canvas")
        box = bo.page.locator("#sketch-canvas").bounding_box()
        bo.page.mouse.move(box["x"] + 20, box["y"] + 20)
        bo.page.mouse.down()
        for step in range(1, 11):
            bo.page.mouse.move(box["x"] + 20 + step * 18, box["y"] + 20 + step * 15)
        bo.page.mouse.up()
        bo.page.click("#answer-send")
        teacher.page.wait_for_selector("#question-panel[data-answered='1']")
        teacher.page.click("#question-reveal")
        bo.page.wait_for_selector("#reveal[data-answers='1'] canvas.reveal-sketch")
        bo.screenshot("class-reveal-sketch-student-1280x720")


def test_a_student_reads_the_help_for_a_run_that_blew_up(browser, server_url):
    with (
        own_browser(browser, server_url, 1440, 900) as teacher,
        own_browser(browser, server_url) as ada,
    ):
        code = open_class(teacher, "Help flags")
        join(ada, code, "Ada")
        wild = spiral(epochs=200, optimizer="sgd", learning_rate=10, momentum=0.9)
        wild["model"]["layers"] = [{"type": "dense", "units": 64, "activation": "relu"}] * 4
        train(ada, wild)
        wait_status(ada.page, "diverged", timeout=120_000)
        ada.page.wait_for_selector("#help-findings li[data-code='diverged']", timeout=30_000)
        text = ada.page.text_content("#help-findings")
        assert "NaN or infinite" in text and "Lower the learning rate" in text
        ada.page.click("#raise-hand")
        ada.page.wait_for_selector("#raise-hand[aria-pressed='true']")
        for name, (w, h) in SIZES.items():
            ada.page.set_viewport_size({"width": w, "height": h})
            ada.screenshot(f"class-help-student-{name}")


def test_a_refused_help_poll_hides_the_help_until_the_class_says_hello_again(browser, server_url):
    """A removal can cross a help poll in flight: the server refuses it (403) before the page
    hears 'removed'. The page then stops asking with its spent token and hides the help."""
    with (
        own_browser(browser, server_url, 1440, 900) as teacher,
        own_browser(browser, server_url) as ada,
    ):
        code = open_class(teacher, "Refused help")
        join(ada, code, "Ada")
        ada.page.wait_for_selector("#class-help", state="visible")
        asked: list[str] = []
        ada.page.on("request", lambda r: asked.append(r.url) if r.url.endswith("/help") else None)
        ada.page.route(
            "**/api/classes/*/help",
            lambda route: route.fulfill(
                status=403, content_type="application/json", body='{"detail": "not a member"}'
            ),
        )
        expect_removal(ada)
        ada.page.wait_for_selector("#class-help", state="hidden", timeout=20_000)  # next poll
        polls = len(asked)
        assert polls >= 1
        # Back in the class (a reload says hello again): the help shows and polls again.
        ada.page.unroute("**/api/classes/*/help")
        ada.page.reload()
        ada.page.wait_for_selector("#class-help", state="visible", timeout=20_000)
        ada.page.wait_for_selector("#help-findings li")
        assert len(asked) > polls
