// Uploaded datasets over HTTP: POST /api/datasets/uploads as multipart (the one call of the
// page that is not JSON), list and delete this browser's uploads (its owner token). All go
// through http.js's request, like every other call.

import { request, describeMessages } from './http.js';
import { ownerToken } from './owner.js';

const UPLOADS = '/api/datasets/uploads';
const owner = () => ({ 'X-Owner-Token': ownerToken() });

/** POST a file as multipart: the upload's JSON, or ApiError with the server's detail. */
export function sendUpload(form) {
  // The server's errors without the `body.file` prefix: the message names the place itself.
  return request('POST', UPLOADS, { form, headers: owner(), describe: describeMessages });
}

/** GET this browser's uploads, or DELETE one (`id`). */
export function ownedUploads(method, id = null) {
  const path = id ? `${UPLOADS}/${encodeURIComponent(id)}` : UPLOADS;
  return request(method, path, { headers: owner() });
}
