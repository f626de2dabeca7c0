// The signed-in token, shared by every page of the playground (GraphiQL at /graphql and the
// graph page at /graphql/graph) and every browser tab of this origin: one personal access
// token kept in localStorage until the user signs out. Pages listen with `onTokenChange`,
// which also hears a sign-in or sign-out made in another tab.
//
// The token is script-readable by design (the page sends it as a header); the pages' CSP
// (`script-src 'self'`, nothing from another origin) is what keeps foreign scripts away.

const KEY = 'issuegraph.token';
const CHANGED = 'issuegraph:token-changed';

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the token lives only as long as the page
  }
}

let memory = '';

// The raw token ('' when signed out); a pasted "Bearer xyz" or "PRIVATE-TOKEN: xyz" is
// reduced to "xyz".
export function normalizeToken(text) {
  return String(text ?? '')
    .trim()
    .replace(/^(bearer|private-token:?)\s+/i, '')
    .trim();
}

export function savedToken() {
  const store = storage();
  return store ? (store.getItem(KEY) ?? '') : memory;
}

export function saveToken(text) {
  const token = normalizeToken(text);
  const store = storage();
  if (store) {
    if (token) store.setItem(KEY, token);
    else store.removeItem(KEY);
  } else {
    memory = token;
  }
  window.dispatchEvent(new CustomEvent(CHANGED, { detail: token }));
  return token;
}

export function clearToken() {
  return saveToken('');
}

// Calls `listener(token)` on every change, from this page or another tab; returns the
// function that stops listening.
export function onTokenChange(listener) {
  const local = (event) => listener(event.detail);
  const other = (event) => {
    if (event.key === KEY || event.key === null) listener(savedToken());
  };
  window.addEventListener(CHANGED, local);
  window.addEventListener('storage', other);
  return () => {
    window.removeEventListener(CHANGED, local);
    window.removeEventListener('storage', other);
  };
}

// The headers a request carries for this token (none when signed out).
export function authHeaders(token = savedToken()) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// Who the token signs in as: { username, name } or null for anonymous; throws an Error whose
// message is the server's (an unknown, expired or revoked token answers 401).
export async function whoAmI(token = savedToken()) {
  const response = await fetch(new URL('/graphql', window.location.origin), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...authHeaders(token), 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ query: 'query SignedInAs { viewer { username name } }' }),
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new Error(`HTTP ${response.status}`);
  }
  if (body?.errors?.length) throw new Error(body.errors[0].message);
  return body?.data?.viewer ?? null;
}
