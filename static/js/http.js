// One request function for every call the page makes to the server (REST, uploads, classes,
// the teacher's page): the class member's token when this page has joined a class, JSON or
// multipart bodies, and one error type (ApiError) carrying the server's detail.

/** An HTTP error with the server's detail (a string, or pydantic's list of {loc, msg}). */
export class ApiError extends Error {
  constructor(status, detail, describe = describeDetail) {
    super(describe(status, detail));
    this.status = status;
    this.detail = detail;
  }

  /** The list of {loc, msg} errors of a 422, or []. */
  get errors() {
    return Array.isArray(this.detail) ? this.detail : [];
  }
}

/** The server's detail in words: `loc: msg; ...` for a 422, the string otherwise. */
export function describeDetail(status, detail) {
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail.map((e) => `${(e.loc || []).join('.')}: ${e.msg}`).join('; ');
  }
  if (status === 0) return 'The LayerLab server cannot be reached.';
  return `The server answered ${status}.`;
}

/** Only the messages of a 422 (the place is in the words already), else describeDetail. */
export function describeMessages(status, detail) {
  if (Array.isArray(detail)) return detail.map((e) => e.msg).join('; ');
  return describeDetail(status, detail);
}

// A class member's token (widgets/class-bar.js): sent with every call and stream, so the
// page's runs are the student's and the class's runs it may see are readable.
let classAuth = null; // {header: 'X-Student-Token' | 'X-Teacher-Token', query: 'student' | 'teacher', token}

/** Join every later request and stream to a class identity (null: none). */
export function setClassAuth(auth) {
  classAuth = auth;
}

/** `?student=<token>` (or teacher) for a WebSocket URL, or ''. */
export function classQuery() {
  return classAuth ? `?${classAuth.query}=${encodeURIComponent(classAuth.token)}` : '';
}

/**
 * request(method, path, {body, form, headers, describe}) -> the JSON answer (null for none).
 * `body` goes as JSON, `form` (FormData) as multipart; a failure throws ApiError (status 0 when
 * the server cannot be reached); `describe(status, detail)` words its message.
 */
export async function request(method, path, { body, form, headers = {}, describe = describeDetail } = {}) {
  const sent = { ...(classAuth ? { [classAuth.header]: classAuth.token } : {}), ...headers };
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: sent,
      // No Content-Type for a form: the browser writes multipart/form-data with its boundary.
      body: form !== undefined ? form : body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, null, describe);
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data && data.detail, describe);
  return data;
}
