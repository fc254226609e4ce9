// This browser's owner token: made once, kept in localStorage, sent as X-Owner-Token so that
// the server knows "mine" (saved designs, runs started here). The server stores only its hash.

const TOKEN_KEY = 'layerlab-owner-token';
let memo = null; // storage disabled: a token for this page only

/** This browser's owner token (24 random bytes, base64url). */
export function ownerToken() {
  let token = memo;
  try {
    token = localStorage.getItem(TOKEN_KEY) || memo;
  } catch {
    token = memo;
  }
  if (!token || token.length < 16) {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    token = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    memo = token;
    try {
      localStorage.setItem(TOKEN_KEY, token);
    } catch {
      /* kept in memory only */
    }
  }
  return token;
}
