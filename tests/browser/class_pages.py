"""Class pages for the browser tests: a person's own browser context, a teacher who opens a
class on /teach, a student who joins it on the playground (imported by name, as
browser_helpers is)."""

from __future__ import annotations

import contextlib

from browser_helpers import PageWatch

SIZES = {"1280x720": (1280, 720), "1440x900": (1440, 900), "390x844": (390, 844)}


@contextlib.contextmanager
def own_browser(browser, base: str, width: int = 1280, height: int = 720):
    """A browser context of its own (no shared storage): one person's machine."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        watch = PageWatch(page, base)
        yield watch
        errors = watch.unexpected_errors()
        assert not errors, "the page logged errors:\n" + "\n".join(errors)
    finally:
        context.close()


def open_class(teacher, name: str) -> str:
    teacher.page.goto(f"{teacher.base}/teach")
    teacher.page.fill("#class-title", name)
    teacher.page.click("#open-class")
    code = teacher.page.text_content("#join-code")
    assert code and len(code) == 7
    return code


def expect_removal(student) -> None:
    """Allow the one refused help poll a removal can cross: a student's page asks for its help
    every few seconds, and a GET that reaches the server after the removal but before the page
    hears of it is refused (a 403 the browser logs). The page then stops asking."""
    student.allow(r"status of 403 .*/api/classes/[^/]+/help\)$")


def join(student, code: str, name: str) -> None:
    student.page.goto(f"{student.base}/#class={code}")
    student.page.wait_for_selector("body[data-ready='true']", timeout=20_000)
    student.page.fill("#class-name", name)
    student.page.click("#class-join")
    student.page.wait_for_function(
        "(n) => document.getElementById('class-who')?.textContent.includes(n)", arg=name
    )
