// A same-origin GraphQL fetcher for GraphiQL and the graph view.
import { TOKEN_PLACEHOLDER } from './examples.js';

export const ENDPOINT = new URL('/graphql', window.location.origin).toString();

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
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
  }
}

export const fetcher = (params, options) => postGraphQL(params, options?.headers);
