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

/** The class member's token as a header ({} when this page is in no class). */
export function classHeaders() {
  return classAuth ? { [classAuth.header]: classAuth.token } : {};
}

/**
 * Save what `path` answers as a file named `filename`, sending the class member's token (a
 * plain link cannot carry a header, and a class run's exports answer its student only).
 */
export async function download(path, filename) {
  let response;
  try {
    response = await fetch(path, { headers: classHeaders() });
  } catch {
    throw new ApiError(0, null);
  }
  if (!response.ok) {
    let detail = null;
    try {
      detail = (await response.json()).detail;
    } catch {
      detail = null;
    }
    throw new ApiError(response.status, detail);
  }
  const url = URL.createObjectURL(await response.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The WebSocket subprotocols that carry a class token (`layerlab`, `layerlab-student.<token>`),
 * so that no token is ever in a URL (URLs land in access logs); [] outside a class.
 */
export function classProtocols(auth = classAuth) {
  return auth ? ['layerlab', `layerlab-${auth.query}.${auth.token}`] : [];
}

/**
 * request(method, path, {body, form, headers, describe}) -> the JSON answer (null for none).
 * `body` goes as JSON, `form` (FormData) as multipart; a failure throws ApiError (status 0 when
 * the server cannot be reached); `describe(status, detail)` words its message.
 */
export async function request(method, path, { body, form, headers = {}, describe = describeDetail } = {}) {
  const sent = { ...classHeaders(), ...headers };
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
