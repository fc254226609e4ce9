"""A class experiment from the teacher's page in Chromium: the teacher starts one over the
learning rate; each student's page loads its assigned design, locked; as their runs end, the
teacher's class plot fills in, one dot per student."""

from __future__ import annotations

import json

import pytest
from browser_helpers import spiral, wait_status
from class_pages import SIZES, expect_removal, join, open_class, own_browser

pytestmark = pytest.mark.browser

RATES = [0.003, 0.3]


def test_a_class_experiment_from_the_teachers_page(browser, server_url):
    with (
        own_browser(browser, server_url, 1440, 900) as teacher,
        own_browser(browser, server_url) as ada,
        own_browser(browser, server_url) as bo,
    ):
        code = open_class(teacher, "Experiment")
        join(ada, code, "Ada")
        join(bo, code, "Bo")

        teacher.page.select_option("#experiment-setting", "learning_rate")
        teacher.page.fill("#experiment-values", ", ".join(str(r) for r in RATES))
        teacher.page.fill("#experiment-design", json.dumps(spiral(epochs=20)))
        teacher.page.click("#experiment-start")
        teacher.page.wait_for_function(
            "() => document.getElementById('experiment-status').textContent.startsWith('Started: 2 students')"
        )

        rates = []
        for student in (ada, bo):
            student.page.wait_for_selector("body[data-assignment^='learning_rate=']")
            rate = json.loads(student.page.evaluate("document.body.dataset.assignment")[14:])
            student.page.wait_for_function(
                "(lr) => window.layerlab.experiment.training.learning_rate === lr", arg=rate
            )
            assert student.page.evaluate("document.getElementById('dataset-panel').disabled")
            assert "Class experiment" in student.page.text_content("#design-note")
            rates.append(rate)
            student.page.click("#train")
        assert sorted(rates) == RATES
        for student in (ada, bo):
            wait_status(student.page, "finished", timeout=120_000)

        teacher.page.wait_for_selector("#experiment-panel[data-rows='2']", timeout=30_000)
        dots = teacher.page.eval_on_selector_all("#experiment-plot circle.run-dot", "e => e.length")
        assert dots == 2
        label = teacher.page.get_attribute("#experiment-plot", "aria-label")
        assert label == "val_accuracy against learning_rate: 2 runs"
        for name, (w, h) in SIZES.items():
            teacher.page.set_viewport_size({"width": w, "height": h})
            teacher.screenshot(f"class-experiment-teacher-{name}")
        ada.screenshot("class-experiment-student-1280x720")

        # Removed from the class, Bo's page keeps the design and loses the experiment's lock.
        teacher.page.set_viewport_size({"width": 1440, "height": 900})
        teacher.page.on("dialog", lambda dialog: dialog.accept())
        row = teacher.page.locator("#dashboard-rows tr", has_text="Bo")
        expect_removal(bo)
        row.locator(".row-more summary").click()
        row.locator(".remove-button").click()
        bo.page.wait_for_selector("body[data-assignment='']")
        assert not bo.page.evaluate("document.getElementById('dataset-panel').disabled")
        assert bo.page.evaluate("window.layerlab.experiment.training.learning_rate") in RATES
