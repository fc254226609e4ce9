// Editing one weight or bias of a paused run of one's own (click a link or a neuron on the
// graph): the control action set_weight, the new value shown at once; the worker then sends a
// fresh snapshot with what the network now computes.

import { weightEdit, withWeight } from '../widgets/network-editor/edits.js';

/** weightFlow(page): fills page.editWeight({column, to, from, value}). */
export function weightFlow(page) {
  page.editWeight = async ({ column, to, from, value }) => {
    const session = page.session;
    const boundary = session.snapshot?.boundary;
    if (!session.token || session.status !== 'paused' || !boundary) return;
    const edit = weightEdit(boundary, column, to, from, value);
    if (!edit) return;
    // Shown at once (the links and the formula), before the worker's fresh snapshot arrives.
    session.snapshot = { ...session.snapshot, boundary: withWeight(boundary, column, to, from, value) };
    page.views.onSnapshot(session);
    await session.setWeight(edit);
  };
}
