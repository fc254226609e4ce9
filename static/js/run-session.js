// One training run as the page sees it: start it, control it, and keep its stream.
//
// Records are kept by epoch number, so the history that every (re)connection's `hello`
// carries merges with what arrived before without gaps or duplicates. Snapshots are "latest
// wins"; the norms and histograms of every snapshot seen are also kept (bounded) for the
// over-time views.
//
// A session either owns its run (it started it and holds the token that every control needs)
// or watches someone else's (`watch()`: the presenter link; no token, so no controls).

import { api, RunSocket, TERMINAL, ApiError } from './api.js';

/** How an `error` status about the design begins: a design check that passes clears it (and
 * only it: "Join the class first" or a limit's 429 stay until the next Train). */
export const DESIGN_ERROR = 'The design cannot run: ';

const MAX_SNAPSHOT_HISTORY = 400;
// The owner's heartbeat (POST /api/runs/{id}/presence): well inside the server's idle pause
// (LAYERLAB_OWNER_IDLE_PAUSE_S, a minute by default), even in a throttled background tab.
const HEARTBEAT_MS = 15_000;

export class RunSession {
  /** onChange(kind, session) with kind: records | snapshot | trace | status | pace | connection | reset. */
  constructor(onChange) {
    this.onChange = onChange;
    this.socket = null;
    this.heartbeat = null;
    this.clear();
  }

  clear() {
    this.generation = (this.generation ?? 0) + 1; // a start answered after this follows nothing
    this.runId = null;
    this.token = null;
    this.status = 'idle';
    this.message = null;
    this.records = [];
    this.seen = new Set();
    this.snapshot = null;
    this.trace = null; // the latest step_batch trace (widgets/step-through.js)
    this.snapshotHistory = [];
    this.experiment = null;
    this.startedWith = null;
    this.check = null;
    this.connection = 'closed';
    this.refused = null; // why the server stopped letting this page watch the run (a 403)
    this.pendingStep = false;
    this.pace = null; // epochs per second of the run (null: full speed), live
    this.bestEpoch = null; // early stopping: the epoch whose weights the run ended with
  }

  get epoch() {
    return this.records.length ? this.records[this.records.length - 1].epoch : 0;
  }

  get active() {
    return Boolean(this.runId) && !TERMINAL.has(this.status);
  }

  /** Epochs per second over the last few records: by the worker's clock at each epoch's end
   * (`time`, so a paced run shows its pace), else by training time; never by arrival time. */
  get epochsPerSecond() {
    const n = this.records.length;
    if (n < 2) return null;
    const last = this.records[n - 1];
    const first = this.records[Math.max(0, n - 30)];
    const key = typeof last.time === 'number' && typeof first.time === 'number' ? 'time' : 'elapsed';
    if (typeof last[key] !== 'number' || typeof first[key] !== 'number') return null;
    const dt = last[key] - first[key];
    return dt > 0 ? (last.epoch - first.epoch) / dt : null;
  }

  /**
   * Start a run of `experiment` and follow it; the server's answer. When the page moved on
   * while the run was being created (a spotlight it now watches, or a reset: a lesson chosen),
   * the answer has `followed: false`: a reset stops the new run, a spotlight leaves it going on
   * for its owner, as it leaves a run already going.
   */
  async start(experiment, { paused = false, design = null } = {}) {
    this.reset({ silent: true });
    this.setStatus('starting', null);
    const mine = this.generation;
    let created;
    try {
      created = await api.startRun(experiment, { paused, design });
    } catch (err) {
      if (mine === this.generation) this.setStatus('error', startError(err));
      throw err;
    }
    if (mine !== this.generation) {
      if (this.resetSince(mine)) api.control(created.id, created.token, 'stop').catch(() => {});
      return { ...created, followed: false };
    }
    this.follow({
      runId: created.id, token: created.token, experiment, startedWith: JSON.stringify(experiment),
      check: null, pace: experiment.training?.pace ?? null, status: created.status || 'queued', every: HEARTBEAT_MS,
    });
    return { ...created, followed: true };
  }

  /** Follow this page's own run `own` ({runId, token, experiment, startedWith, check, pace,
   * status, every}): its stream, and its heartbeat every `every` ms. */
  follow(own) {
    this.runId = own.runId;
    this.token = own.token;
    this.experiment = own.experiment;
    this.startedWith = own.startedWith;
    this.check = own.check;
    this.pace = own.pace;
    this.setStatus(own.status, null); // until the stream's hello says what it is now
    this.connect(own.runId);
    this.beatEvery = own.every;
    this.heartbeat = setInterval(() => this.beat(), own.every);
    this.beat();
  }

  /**
   * Follow someone else's run read-only: `run` is its GET /api/runs/{id} (status and history so
   * far), then the stream's hello, records and snapshots, merged by epoch as for one's own run.
   * Whatever this session followed before is left alone (never stopped).
   */
  watch(run) {
    this.detach();
    this.onChange('reset', this);
    this.runId = run.id;
    this.experiment = run.experiment || null;
    this.startedWith = run.experiment ? JSON.stringify(run.experiment) : null;
    this.check = run.check || null;
    this.pace = run.experiment?.training?.pace ?? null;
    this.setStatus(run.status || 'queued', run.message ?? null);
    this.addRecords(run.history || []);
    this.connect(run.id);
  }

  /** Tell the server the owner's page is still here (only while the run is active). */
  beat() {
    if (!this.runId || !this.token || !this.active) return;
    const id = this.runId;
    api
      .presence(id, this.token)
      .then((reply) => {
        // Beat four times per idle period (a server with a short one gets more beats).
        const every = Math.min(HEARTBEAT_MS, Math.max(500, (reply?.idle_pause_s || 60) * 250));
        if (id === this.runId && every !== this.beatEvery) {
          this.beatEvery = every;
          clearInterval(this.heartbeat);
          this.heartbeat = setInterval(() => this.beat(), every);
        }
      })
      .catch(() => {}); // a missed beat is retried by the next
  }

  /** True while following a run this page does not own. */
  get watching() {
    return Boolean(this.runId) && !this.token;
  }

  connect(runId) {
    const goneMessage = this.token
      ? 'The server no longer has this run (it may have restarted). Press Train to start again.'
      : 'The server no longer has this run (it may have restarted). Ask for a new live link.';
    this.socket = new RunSocket(runId, {
      goneMessage,
      onHello: (msg) => this.onHello(msg),
      onEpoch: (records) => this.addRecords(records),
      onSnapshot: (snapshot) => this.onSnapshot(snapshot),
      onTrace: (trace) => {
        this.trace = trace;
        this.onChange('trace', this);
      },
      onPace: (value) => {
        this.pace = value ?? null;
        this.onChange('pace', this);
      },
      onStatus: (msg) => {
        if (typeof msg.best_epoch === 'number') this.bestEpoch = msg.best_epoch;
        if (msg.status === 'paused' && this.pendingStep) this.pendingStep = false;
        this.setStatus(msg.status, msg.message ?? null);
      },
      onConnection: (state) => {
        this.connection = state;
        this.onChange('connection', this);
      },
      onRefused: (why) => {
        this.refused = why;
        this.onChange('refused', this);
      },
    });
  }

  onHello(msg) {
    const run = msg.run || {};
    if (run.experiment) this.experiment = run.experiment;
    if (run.experiment?.training && 'pace' in run.experiment.training) {
      this.pace = run.experiment.training.pace ?? null;
      this.onChange('pace', this);
    }
    if (typeof run.best_epoch === 'number') this.bestEpoch = run.best_epoch;
    if (run.check) this.check = run.check;
    this.addRecords(msg.history || []);
    this.addLayerHistory(msg.layer_history || []);
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

  /** Per-layer summaries of the snapshots taken before this viewer joined, merged by epoch. */
  addLayerHistory(entries) {
    const known = new Set(this.snapshotHistory.map((s) => s.epoch));
    const fresh = entries.filter((s) => s && Array.isArray(s.layers) && !known.has(s.epoch));
    if (!fresh.length) return;
    this.snapshotHistory = [...this.snapshotHistory, ...fresh].sort((a, b) => a.epoch - b.epoch);
    this.onChange('snapshot', this);
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

  /** The run's pace, live: epochs per second, or null for full speed (every watcher follows). */
  async setPace(value) {
    const before = this.pace;
    this.pace = value ?? null;
    this.onChange('pace', this);
    const reply = await this.control('pace', { value: value ?? null });
    if (reply === null && this.runId) {
      this.pace = before;
      this.onChange('pace', this);
    }
    return reply;
  }

  /** While paused: one weight or bias (widgets/network-editor/edits.js weightEdit); a fresh snapshot follows. */
  setWeight(edit) {
    return this.control('set_weight', { value: edit });
  }

  /** Forget the run (stopping it first when this page owns it and it still runs). */
  reset({ silent = false } = {}) {
    if (this.active && this.token) this.control('stop');
    this.detach();
    this.lastReset = this.generation;
    if (!silent) this.onChange('reset', this);
  }

  /**
   * Let go of this page's own active run for a while (a class's spotlight shows another): its
   * stream closes but its heartbeat goes on, so the server never pauses it as abandoned;
   * `takeBack(held)` follows it again. Null (and nothing kept) when the page follows no active
   * run of its own.
   */
  setAside() {
    const held = this.token && this.active
      ? { runId: this.runId, token: this.token, experiment: this.experiment, startedWith: this.startedWith,
          check: this.check, pace: this.pace, status: this.status, every: this.beatEvery || HEARTBEAT_MS }
      : null;
    this.detach();
    if (held) held.timer = setInterval(() => api.presence(held.runId, held.token).catch(() => {}), held.every);
    return held;
  }

  /** Follow again the run `setAside` let go of: its stream's hello brings the whole history. */
  takeBack(held) {
    clearInterval(held.timer);
    this.detach();
    this.onChange('reset', this);
    this.follow(held);
  }

  /** Stop the run `setAside` let go of, without following it again (its design was replaced). */
  letGo(held) {
    clearInterval(held.timer);
    api.control(held.runId, held.token, 'stop').catch(() => {});
  }

  /** Forget the run `setAside` let go of, touching nothing: it is no longer this page's (the
   * class removed its student, which stopped it and ended the page's access to it). */
  forget(held) {
    clearInterval(held.timer);
  }

  /** Whether a reset (not a spotlight's detach) came after generation `g`. */
  resetSince(g) {
    return (this.lastReset ?? 0) > g;
  }

  /** Stop following the run without touching it: it goes on for its owner and other viewers. */
  detach() {
    if (this.socket) this.socket.close();
    this.socket = null;
    clearInterval(this.heartbeat);
    this.heartbeat = null;
    this.clear();
  }
}

function startError(err) {
  if (err instanceof ApiError) {
    if (err.status === 429) return `Limit reached: ${err.message}`;
    if (err.status === 422) return `${DESIGN_ERROR}${err.message}`;
    return err.message;
  }
  return String(err);
}
