"""Views off screen draw less often (static/js/util/offscreen.js): a view below the fold
redraws at most four times a second, one on screen every frame, and both draw their latest
data in the end. Bounds only from above by the clock, so a slow machine cannot fail it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

DRAWS = """
async () => {
  const { invalidateSeen, watchOnScreen } = await import('/static/js/util/offscreen.js');
  const box = (top) => {
    const el = document.createElement('div');
    el.style.cssText = `position: absolute; left: 0; top: ${top}px; width: 50px; height: 50px`;
    document.body.append(el);
    watchOnScreen(el);
    return el;
  };
  const seen = box(0);
  const hidden = box(document.documentElement.scrollHeight + 5000);
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  await frame(); await frame();  // the observer's first report
  const count = { seen: 0, hidden: 0 };
  let last = null;
  const start = performance.now();
  for (let i = 0; i < 60; i += 1) {
    invalidateSeen('test-seen', seen, () => { count.seen += 1; });
    invalidateSeen('test-hidden', hidden, () => { count.hidden += 1; last = i; });
    await frame();
  }
  const elapsed = performance.now() - start;
  // The last request off screen is drawn too, a little later.
  while (last !== 59) await new Promise((r) => setTimeout(r, 50));
  return { ...count, elapsed: performance.now() - start, loop: elapsed };
}
"""


def test_a_view_off_screen_draws_at_most_four_times_a_second(lab):
    lab.open()
    lab.page.wait_for_selector("body[data-ready='true']")
    result = lab.page.evaluate(DRAWS)
    assert result["seen"] == 60, result  # one draw per frame on screen
    assert 1 <= result["hidden"] <= result["elapsed"] / 250 + 1, result
