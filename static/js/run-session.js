// One training run as the page sees it: start it, control it, and keep its stream.
//
// Records are kept by epoch number, so the history that every (re)connection's `hello`
// carries merges with what arrived before without gaps or duplicates. Snapshots are "latest
// wins"; the norms and histograms of every snapshot seen are also kept (bounded) for the
// over-time views.

import { api, RunSocket, TERMINAL, ApiError } from './api.js';

const MAX_SNAPSHOT_HISTORY = 400;

export class RunSession {
  /** onChange(kind, session) with kind: records | snapshot | status | connection | reset. */
  constructor(onChange) {
    this.onChange = onChange;
    this.socket = null;
    this.clear();
  }

  clear() {
    this.runId = null;
    this.token = null;
    this.status = 'idle';
    this.message = null;
    this.records = [];
    this.seen = new Set();
    this.snapshot = null;
    this.snapshotHistory = [];
    this.experiment = null;
    this.startedWith = null;
    this.check = null;
    this.connection = 'closed';
    this.pendingStep = false;
  }

  get epoch() {
    return this.records.length ? this.records[this.records.length - 1].epoch : 0;
  }

  get active() {
    return Boolean(this.runId) && !TERMINAL.has(this.status);
  }

  /** Epochs per second over the last few records (training time, not arrival time). */
  get epochsPerSecond() {
    const n = this.records.length;
    if (n < 2) return null;
    const last = this.records[n - 1];
    const first = this.records[Math.max(0, n - 30)];
    if (typeof last.elapsed !== 'number' || typeof first.elapsed !== 'number') return null;
    const dt = last.elapsed - first.elapsed;
    return dt > 0 ? (last.epoch - first.epoch) / dt : null;
  }

  async start(experiment, { paused = false } = {}) {
    this.reset({ silent: true });
    this.setStatus('starting', null);
    let created;
    try {
      created = await api.startRun(experiment, { paused });
    } catch (err) {
      this.setStatus('error', startError(err));
      throw err;
    }
    this.runId = created.id;
    this.token = created.token;
    this.experiment = experiment;
    this.startedWith = JSON.stringify(experiment);
    this.setStatus(created.status || 'queued', null);
    this.socket = new RunSocket(created.id, {
      onHello: (msg) => this.onHello(msg),
      onEpoch: (records) => this.addRecords(records),
      onSnapshot: (snapshot) => this.onSnapshot(snapshot),
      onStatus: (msg) => {
        if (msg.status === 'paused' && this.pendingStep) this.pendingStep = false;
        this.setStatus(msg.status, msg.message ?? null);
      },
      onConnection: (state) => {
        this.connection = state;
        this.onChange('connection', this);
      },
    });
    return created;
  }

  onHello(msg) {
    const run = msg.run || {};
    if (run.experiment) this.experiment = run.experiment;
    if (run.check) this.check = run.check;
    this.addRecords(msg.history || []);
    if (run.status) this.setStatus(run.status, run.message ?? this.message);
  }

  addRecords(records) {
    let added = 0;
    let outOfOrder = false;
    const last = this.epoch;
    for (const r of records) {
      if (!r || typeof r.epoch !== 'number' || this.seen.has(r.epoch)) continue;
      this.seen.add(r.epoch);
      if (r.epoch < last) outOfOrder = true;
      this.records.push(r);
      added += 1;
    }
    if (outOfOrder) this.records.sort((a, b) => a.epoch - b.epoch);
    if (added) this.onChange('records', this);
  }

  onSnapshot(snapshot) {
    this.snapshot = snapshot;
    if (Array.isArray(snapshot.layers)) {
      const prev = this.snapshotHistory[this.snapshotHistory.length - 1];
      if (!prev || prev.epoch !== snapshot.epoch) {
        this.snapshotHistory.push({ epoch: snapshot.epoch, layers: snapshot.layers });
        if (this.snapshotHistory.length > MAX_SNAPSHOT_HISTORY) {
          // Thin out the older half so the whole run stays visible at bounded cost.
          const keep = this.snapshotHistory.filter((_, i) => i % 2 === 0 || i > MAX_SNAPSHOT_HISTORY / 2);
          this.snapshotHistory = keep;
        }
      }
    }
    this.onChange('snapshot', this);
  }

  setStatus(status, message) {
    this.status = status;
    this.message = message;
    this.onChange('status', this);
  }

  async control(action, extra = {}) {
    if (!this.runId) return null;
    try {
      return await api.control(this.runId, this.token, action, extra);
    } catch (err) {
      this.message = err instanceof ApiError ? err.message : String(err);
      this.onChange('status', this);
      return null;
    }
  }

  pause() {
    return this.control('pause');
  }

  resume() {
    return this.control('resume');
  }

  step() {
    this.pendingStep = true;
    return this.control('step');
  }

  stop() {
    return this.control('stop');
  }

  setLearningRate(lr) {
    return this.control('set_lr', { learning_rate: lr });
  }

  /** Forget the run (stopping it first when it still runs). */
  reset({ silent = false } = {}) {
    if (this.active && this.token) this.control('stop');
    if (this.socket) this.socket.close();
    this.socket = null;
    this.clear();
    if (!silent) this.onChange('reset', this);
  }
}

function startError(err) {
  if (err instanceof ApiError) {
    if (err.status === 429) return `Limit reached: ${err.message}`;
    if (err.status === 422) return `The design cannot run: ${err.message}`;
    return err.message;
  }
  return String(err);
}
