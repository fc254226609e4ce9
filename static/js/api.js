// The LayerLab client: REST calls (through http.js's request) and the run WebSocket with gap-free reconnects.

import { ownerToken } from './owner.js';

import { request as send, ApiError, setClassAuth, classProtocols } from './http.js';

export { ApiError, setClassAuth };

// The REST calls below: (method, path, body, headers), through the page's one request function.
const request = (method, path, body, headers = {}) => send(method, path, { body, headers });

const owner = () => ({ 'X-Owner-Token': ownerToken() });

/** `?a=1&b=x` from the entries that are set, or ''. */
function query(params) {
  const set = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== '');
  return set.length ? `?${new URLSearchParams(set.map(([k, v]) => [k, String(v)]))}` : '';
}

export const api = {
  layers: () => request('GET', '/api/layers'),
  datasets: () => request('GET', '/api/datasets'),
  training: () => request('GET', '/api/training'),
  preview: (datasetSpec) => request('POST', '/api/datasets/preview', datasetSpec),
  check: (experiment) => request('POST', '/api/check', experiment),
  blocks: () => request('GET', '/api/blocks'),
  expandBlock: (name, experiment, params = {}) =>
    request('POST', `/api/blocks/${encodeURIComponent(name)}/expand`, { experiment, params }),
  // `paused` creates the run paused, so Step with no run yet trains exactly one epoch; `design`
  // names the saved design it comes from. Runs are started as this browser's (X-Owner-Token).
  startRun: (experiment, { paused = false, design = null } = {}) =>
    request('POST', `/api/runs${query({ paused: paused || null, design })}`, experiment, owner()),
  // filters: {owner: 'me', design: id, status, dataset, q, limit}
  runs: (filters = {}) => request('GET', `/api/runs${query(filters)}`, undefined, owner()),
  // Any call as this browser's owner (saved designs).
  owned: (method, path, body) => request(method, path, body, owner()),
  run: (id) => request('GET', `/api/runs/${encodeURIComponent(id)}`),
  // The owner's heartbeat: without it for a while the server pauses, later stops, the run.
  presence: (id, token) =>
    request('POST', `/api/runs/${encodeURIComponent(id)}/presence`, undefined, { 'X-Run-Token': token }),
  // One raw input -> the model's answer with the run's current weights (and attributions).
  predict: (id, question) => request('POST', `/api/runs/${encodeURIComponent(id)}/predict`, question),
  control: (id, token, action, extra = {}) =>
    request('POST', `/api/runs/${encodeURIComponent(id)}/control`, { action, ...extra }, {
      'X-Run-Token': token,
    }),
};

export const TERMINAL = new Set(['finished', 'stopped', 'failed', 'diverged', 'interrupted']);

/**
 * A WebSocket to one run. It reconnects on its own (0.5 s, 1 s, 2 s ... up to 8 s) until the
 * run reaches a terminal status or `close()` is called; every (re)connection starts with a
 * `hello` carrying the whole history, which the session merges by epoch number, so a dropped
 * connection leaves no gap.
 *
 * handlers: onHello(msg), onEpoch(records), onSnapshot(snapshot), onTrace(trace), onPace(value), onStatus(msg),
 *           onConnection(state: 'connecting' | 'open' | 'reconnecting' | 'closed'),
 *           onRefused(why): the server no longer lets this page watch the run (a 403), and
 *           goneMessage: the words of the `failed` status when the server lost the run.
 */
export class RunSocket {
  constructor(runId, handlers) {
    this.runId = runId;
    this.handlers = handlers;
    this.closed = false;
    this.terminal = false;
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.connect();
  }

  url() {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    return `${scheme}://${window.location.host}/ws/runs/${encodeURIComponent(this.runId)}`;
  }

  connect() {
    if (this.closed) return;
    this.emitConnection(this.attempt ? 'reconnecting' : 'connecting');
    // A class token, and this browser's owner token (the owner alone sees the examples of a
    // run on an uploaded dataset), as subprotocols: never in the URL.
    const ws = new WebSocket(this.url(), [...new Set([...classProtocols(), 'layerlab', `layerlab-owner.${ownerToken()}`])]);
    let opened = false;
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.emitConnection('open');
    };
    ws.onmessage = (event) => this.dispatch(event.data);
    ws.onclose = async (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed || this.terminal) {
        this.emitConnection('closed');
        return;
      }
      // 4404, or a refused handshake for a run the server no longer knows (it restarted) or
      // no longer lets this page watch (a spotlight that ended): say so, never retry for ever.
      const refusal = event.code === 4404 ? { gone: true } : !opened ? await this.refusal() : null;
      if (this.closed) return;
      if (refusal?.gone) {
        this.terminal = true;
        this.emitConnection('closed');
        const message = this.handlers.goneMessage || 'The server no longer has this run (it may have restarted). Press Train to start again.';
        this.handlers.onStatus?.({ type: 'status', status: 'failed', message });
        return;
      }
      if (refusal?.forbidden) {
        this.terminal = true;
        this.emitConnection('closed');
        this.handlers.onRefused?.(refusal.forbidden);
        return;
      }
      if (this.closed) return;
      this.attempt += 1;
      const delay = Math.min(8000, 500 * 2 ** (this.attempt - 1));
      this.emitConnection('reconnecting');
      this.timer = setTimeout(() => this.connect(), delay);
    };
    ws.onerror = () => {
      // onclose follows and schedules the reconnect; nothing to log to the console.
    };
  }

  dispatch(data) {
    if (typeof data !== 'string') return; // binary frames are not used by this page
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    const h = this.handlers;
    switch (msg.type) {
      case 'hello':
        if (msg.run && TERMINAL.has(msg.run.status)) this.terminal = true;
        h.onHello?.(msg);
        break;
      case 'epoch':
        h.onEpoch?.(msg.records || []);
        break;
      case 'snapshot':
        if (msg.snapshot) h.onSnapshot?.(msg.snapshot);
        break;
      case 'trace': // one step_batch's trace (the latest right after hello): Step through
        if (msg.trace) h.onTrace?.(msg.trace);
        break;
      case 'pace': // the run's pace changed (its owner's control): every viewer follows
        h.onPace?.(msg.value ?? null);
        break;
      case 'status':
        if (TERMINAL.has(msg.status)) this.terminal = true;
        h.onStatus?.(msg);
        break;
      default:
        break;
    }
  }

  /** Why a refused handshake was refused: {gone: true} (404), {forbidden: why} (403), or null. */
  async refusal() {
    try {
      await api.run(this.runId);
      return null;
    } catch (err) {
      if (!(err instanceof ApiError)) return null;
      if (err.status === 404) return { gone: true };
      if (err.status === 403) return { forbidden: `This page may no longer watch this run: ${err.message}` };
      return null;
    }
  }

  emitConnection(state) {
    this.handlers.onConnection?.(state);
  }

  /** Drop the connection now (used by tests and by the page to simulate a network blip). */
  drop() {
    if (this.ws) this.ws.close();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
    }
    this.emitConnection('closed');
  }
}
