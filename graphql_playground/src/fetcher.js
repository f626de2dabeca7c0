// The playground's GraphQL fetcher, same-origin only: queries and mutations are POSTed to
// /graphql, subscriptions run over a WebSocket to the same URL (graphql-transport-ws, the
// `graphql-ws` client) with the token in `connection_init`. The token is the signed-in one
// (session.js), unless the tab's own Headers editor names an Authorization header.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { createClient } from 'graphql-ws';

import { TOKEN_PLACEHOLDER } from './examples.js';
import { authHeaders, savedToken } from './session.js';

export const ENDPOINT = new URL('/graphql', window.location.origin).toString();

// ws://host/graphql for a page served over http, wss:// for one served over https.
export function subscriptionUrl(location = window.location) {
  const url = new URL('/graphql', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = '';
  url.hash = '';
  return url.toString();
}

// Headers as the user typed them, less an Authorization header still holding the
// placeholder: the preset must not turn every anonymous query into a 401.
export function cleanHeaders(headers) {
  const clean = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === null || value === undefined) continue;
    const text = String(value);
    if (text.includes(TOKEN_PLACEHOLDER) || text.trim() === 'Bearer') continue;
    clean[name] = text;
  }
  return clean;
}

export function parseHeaders(text) {
  if (!text || !text.trim()) return {};
  try {
    const parsed = JSON.parse(text);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

// The Authorization header of cleaned headers, whatever its case; '' when there is none.
export function authorization(headers) {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'authorization') return value;
  }
  return '';
}

// An answer that is not JSON (a proxy's error page) becomes a GraphQL error to show.
async function asGraphQL(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
  }
}

// The headers a request of a tab carries: the signed-in token's Authorization header, unless
// the tab's headers hold one of their own (that one wins, for that tab).
export function requestHeaders(tabHeaders, token = savedToken()) {
  const own = cleanHeaders(tabHeaders);
  const named = Object.keys(own).some((name) => name.toLowerCase() === 'authorization');
  return named ? own : { ...authHeaders(token), ...own };
}

export async function postGraphQL(params, headers) {
  const response = await fetch(ENDPOINT, {
    method: 'POST',
    credentials: 'same-origin',
    headers: {
      ...cleanHeaders(headers),
      'Content-Type': 'application/json',
      Accept: 'application/json',
    },
    body: JSON.stringify(params),
  });
  return asGraphQL(response);
}

// The toolkit's HTTP requests (queries, mutations, introspection) answered as postGraphQL
// answers them.
async function sameOriginFetch(url, init) {
  const response = await fetch(url, { ...init, credentials: 'same-origin' });
  const body = await asGraphQL(response);
  return new Response(JSON.stringify(body), {
    status: response.status,
    headers: { 'Content-Type': 'application/json' },
  });
}

// 4403: the server refused the token in connection_init; trying it again changes nothing.
// Any other close (the network, a restarting server) is retried, with graphql-ws's backoff.
const REFUSED = 4403;
const closedWith = (event, code) => Boolean(event) && typeof event === 'object' && event.code === code;
const shouldRetry = (event) => !closedWith(event, REFUSED);

// Why a subscription ended, as GraphQL errors: the tab shows them like any other answer's.
// (Handing GraphiQL's iterator an error instead leaves an unhandled rejection behind.)
function asErrors(error, token) {
  if (Array.isArray(error)) return error;
  if (closedWith(error, REFUSED)) {
    const refused = token ? 'the token of the Authorization header' : 'the connection';
    return [{ message: `The server refused ${refused} (WebSocket closed with ${REFUSED}): sign in again, or check the Headers tab.` }];
  }
  if (error && typeof error === 'object' && 'code' in error && 'reason' in error) {
    return [{ message: `The WebSocket closed: ${error.code} ${error.reason || ''}`.trim() }];
  }
  return [{ message: error instanceof Error ? error.message : String(error) }];
}

// The cursor of an event a subscription delivered: its one root field's `cursor`.
function cursorOf(result) {
  const values = Object.values(result?.data ?? {});
  const cursor = values.length === 1 ? values[0]?.cursor : undefined;
  return typeof cursor === 'string' ? cursor : null;
}

// One lazy graphql-ws client per token: its socket opens with its first subscription and
// closes after its last. A tab whose token changed subscribes on a new connection that
// sends the new token; a subscription already running keeps the connection it started on,
// which closes once no subscription uses it.
const live = new Map();
let current = null;

function liveEntry(token) {
  let entry = live.get(token);
  if (entry) return entry;
  const client = createClient({
    url: subscriptionUrl(),
    lazy: true,
    connectionParams: token ? { Authorization: token } : {},
    retryAttempts: 5,
    shouldRetry,
  });
  entry = { token, client, running: 0 };
  // Counts the subscriptions running on the client, so that an idle client of an old
  // token can be let go.
  const counted = {
    subscribe(params, sink) {
      // graphql-ws subscribes again with this payload after it reconnects. An operation
      // with an $after variable gets the cursor of the last event delivered in it, so the
      // subscription resumes right after that event: nothing missed, nothing twice.
      const variables = params.variables ?? {};
      const resumable = Object.hasOwn(variables, 'after');
      const payload = resumable ? { ...params, variables: { ...variables } } : params;
      entry.running += 1;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        entry.running -= 1;
        prune();
      };
      const dispose = client.subscribe(payload, {
        next: (value) => {
          const cursor = resumable ? cursorOf(value) : null;
          if (cursor) payload.variables.after = cursor;
          sink.next(value);
        },
        error: (error) => {
          end();
          sink.next({ errors: asErrors(error, token) });
          sink.complete();
        },
        complete: () => {
          end();
          sink.complete();
        },
      });
      return () => {
        dispose();
        end();
      };
    },
  };
  entry.fetcher = createGraphiQLFetcher({
    url: ENDPOINT,
    wsClient: counted,
    fetch: sameOriginFetch,
    headers: { accept: 'application/json' },
    enableIncrementalDelivery: false,
  });
  live.set(token, entry);
  return entry;
}

function prune() {
  for (const [token, entry] of live) {
    if (entry !== current && entry.running === 0) {
      live.delete(token);
      entry.client.dispose();
    }
  }
}

export function fetcher(params, options) {
  const headers = requestHeaders(options?.headers);
  const entry = liveEntry(authorization(headers));
  if (entry !== current) {
    current = entry;
    prune();
  }
  return entry.fetcher(params, { ...options, headers });
}
