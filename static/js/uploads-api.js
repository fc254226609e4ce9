// Uploaded datasets over HTTP: POST /api/datasets/uploads as multipart (the one call of the
// page that is not JSON), list and delete this browser's uploads (its owner token).

import { ApiError } from './api.js';
import { ownerToken } from './owner.js';

const UPLOADS = '/api/datasets/uploads';

/** POST a file as multipart: the upload's JSON, or ApiError with the server's detail. */
export async function sendUpload(form) {
  let response;
  try {
    // No Content-Type: the browser writes multipart/form-data with its boundary.
    response = await fetch(UPLOADS, { method: 'POST', body: form, headers: { 'X-Owner-Token': ownerToken() } });
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (!response.ok) throw new ApiError(response.status, uploadDetail(data?.detail));
  return data;
}

/** The server's errors without the `body.file` prefix: the message names the place itself. */
function uploadDetail(detail) {
  if (!Array.isArray(detail)) return detail;
  return detail.map((e) => e.msg).join('; ');
}

/** GET this browser's uploads, or DELETE one (`id`). */
export async function ownedUploads(method, id = null) {
  const path = id ? `${UPLOADS}/${encodeURIComponent(id)}` : UPLOADS;
  const response = await fetch(path, { method, headers: { 'X-Owner-Token': ownerToken() } });
  if (!response.ok) throw new ApiError(response.status, (await response.json().catch(() => ({}))).detail);
  return response.status === 204 ? null : response.json();
}

