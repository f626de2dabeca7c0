// The graph page's exports: the drawing as SVG (written by ./svg.js from Cytoscape's model)
// or PNG (Cytoscape's own `cy.png`), and the server's DOT text from /graphql/graph/export.
// Each is saved through a Blob and an <a download>.
import { graphSvg } from './svg.js';

const BACKGROUND = '#ffffff';

// The whole graph (not only what the viewport shows), on white.
export function svgBlob(cy) {
  const text = graphSvg(cy, { background: BACKGROUND });
  return new Blob([text], { type: 'image/svg+xml' });
}

export function pngBlob(cy) {
  return cy.png({ output: 'blob', full: true, bg: BACKGROUND, scale: 2 });
}

// The stored kinds the export endpoint (and `issuegraph graph --link-types`) takes.
const EXPORT_KINDS = {
  BLOCKS: 'blocks',
  PARENT_OF: 'parent',
  RELATES_TO: 'relates',
  DUPLICATES: 'duplicates',
  CLONES: 'clones',
};
const EXPORT_STATES = { open: 'opened', closed: 'closed' };

// The export endpoint's address for a view: the same issues and links the page draws.
export function exportUrl(view, format = 'dot') {
  const query = new URLSearchParams({ project: view.project });
  if (view.iid) query.set('iid', String(view.iid));
  query.set(
    'types',
    view.types
      .map((t) => EXPORT_KINDS[t])
      .filter(Boolean)
      .join(','),
  );
  if (!view.iid && view.label) query.set('label', view.label);
  if (EXPORT_STATES[view.state]) query.set('state', EXPORT_STATES[view.state]);
  query.set('format', format);
  return `/graphql/graph/export?${query}`;
}

// The server's text, as it wrote it; an answer other than 200 throws its message.
export async function dotBlob(view, headers) {
  const response = await fetch(exportUrl(view, 'dot'), { headers, credentials: 'same-origin' });
  const text = await response.text();
  if (!response.ok) {
    let message = text.slice(0, 300);
    try {
      const body = JSON.parse(text);
      message = body.errors?.[0]?.message ?? body.message ?? body.error ?? message;
    } catch {
      // not JSON: the text itself
    }
    throw new Error(`DOT export failed (HTTP ${response.status}): ${message}`);
  }
  return new Blob([text], { type: 'text/vnd.graphviz' });
}

export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has started the download; the URL can go once it has been read.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// A file name for a view: acme-platform-5-graph.svg, acme-platform-backend-graph.png.
export function exportName(view, extension) {
  const parts = [view.project, view.iid || view.label].filter(Boolean).join('-');
  const safe = parts.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  return `${safe || 'issuegraph'}-graph.${extension}`;
}
