// Which widget the page's number keys belong to now. Two widgets read keys 1..4 from the whole
// page: step-through's phases (1-4) and the camera's classes (hold 1..6 to record). With both
// on, one key press did both (a phase shown and frames recorded). A widget marks its area with
// `data-keys="<name>"`, and `data-keys-on` while it listens; the keys belong to the listening
// area the person last pressed or focused in, while it is on screen; else to the one listening
// area on screen, or to nobody when several are (a key then does nothing rather than two
// things).

let lastUsed = null; // the name of the area of the last pointer press or focus

function note(e) {
  const area = e.target?.closest?.('[data-keys]');
  if (area) lastUsed = area.dataset.keys;
}
document.addEventListener('pointerdown', note, true);
document.addEventListener('focusin', note, true);

function onScreen(area) {
  if (area.closest('[hidden]') || area.getClientRects().length === 0) return false;
  const r = area.getBoundingClientRect();
  return r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
}

/** Whether the page's number keys go to the widget called `name` now. */
export function ownsKeys(name) {
  const listening = [...document.querySelectorAll('[data-keys][data-keys-on]')].filter(onScreen);
  const names = new Set(listening.map((a) => a.dataset.keys));
  if (!names.has(name)) return false;
  if (lastUsed && names.has(lastUsed)) return lastUsed === name;
  return names.size === 1;
}

/** Mark `area` as widget `name`'s, listening or not. */
export function keyArea(area, name, on) {
  area.dataset.keys = name;
  area.toggleAttribute('data-keys-on', Boolean(on));
}
