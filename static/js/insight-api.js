// The projector's and the recommender's REST calls (GET /api/runs/{id}/projection and
// /recommendations), through the page's one request function.

import { request } from './http.js';
import { ownerToken } from './owner.js';

/** `?a=1&b=x` from the entries that are set. */
function query(params) {
  const set = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== '');
  return set.length ? `?${new URLSearchParams(set.map(([k, v]) => [k, String(v)]))}` : '';
}

// A run on an uploaded dataset shows its examples to its owner only: this browser's runs are.
const owner = () => ({ headers: { 'X-Owner-Token': ownerToken() } });

export const insightApi = {
  // {layer, method: 'pca'|'tsne', limit, examples} -> {points, labels|values, hover, index, layers, images?}
  projection: (id, params) => request('GET', `/api/runs/${encodeURIComponent(id)}/projection${query(params)}`, owner()),
  // {user, k, method} -> {top, rated, rmse, baseline_rmse, map}
  recommendations: (id, params) => request('GET', `/api/runs/${encodeURIComponent(id)}/recommendations${query(params)}`),
};
