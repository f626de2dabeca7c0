// The full-page dependency graph: /graphql/graph?project=acme/platform&iid=5
// (optional: direction=BOTH|UPSTREAM|DOWNSTREAM, types=BLOCKS,PARENT_OF,...).
import './style.css';
import {
  DIRECTIONS,
  LINK_KINDS,
  LINK_PHRASES,
  drawGraph,
  h,
  issueDetails,
  legend,
  loadGraph,
  summary,
} from './graph/graph.js';

const TOKEN_KEY = 'issuegraph:graph-token';
const form = document.getElementById('graph-form');
const canvas = document.getElementById('graph');
const status = document.getElementById('graph-status');
const summaryBox = document.getElementById('graph-summary');
const details = document.getElementById('graph-details');
let cy = null;

function readParams() {
  const query = new URLSearchParams(window.location.search);
  const direction = (query.get('direction') || 'BOTH').toUpperCase();
  const types = (query.get('types') || LINK_KINDS.join(','))
    .split(',')
    .map((t) => t.trim().toUpperCase())
    .filter((t) => LINK_KINDS.includes(t));
  return {
    project: query.get('project') || 'acme/platform',
    iid: query.get('iid') || '5',
    direction: DIRECTIONS.includes(direction) ? direction : 'BOTH',
    types: types.length ? types : LINK_KINDS,
  };
}

function fillForm(params) {
  form.project.value = params.project;
  form.iid.value = params.iid;
  form.direction.replaceChildren(...DIRECTIONS.map((d) => h('option', { value: d }, d)));
  form.direction.value = params.direction;
  const box = document.getElementById('graph-types');
  box.querySelectorAll('label').forEach((l) => l.remove());
  for (const kind of LINK_KINDS) {
    box.append(
      h(
        'label',
        {},
        h('input', { type: 'checkbox', name: 'types', value: kind, checked: params.types.includes(kind) }),
        LINK_PHRASES[kind],
      ),
    );
  }
  form.token.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function formParams() {
  return {
    project: form.project.value.trim(),
    iid: form.iid.value.trim(),
    direction: form.direction.value,
    types: [...form.querySelectorAll('input[name=types]:checked')].map((i) => i.value),
  };
}

function headers() {
  const token = form.token.value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function pushUrl(params) {
  const query = new URLSearchParams({
    project: params.project,
    iid: params.iid,
    direction: params.direction,
    types: params.types.join(','),
  });
  const url = `${window.location.pathname}?${query}`;
  if (url !== `${window.location.pathname}${window.location.search}`) {
    window.history.pushState(null, '', url);
  }
}

async function show(params, { push = true } = {}) {
  status.textContent = `Loading ${params.project}#${params.iid} …`;
  status.className = 'ig-status';
  canvas.dataset.state = 'loading';
  try {
    const graph = await loadGraph(params, headers());
    if (push) pushUrl(params);
    cy?.destroy();
    cy = drawGraph(canvas, graph, {
      onSelect: (issue) => details.replaceChildren(issueDetails(issue, { onCentre: centre })),
      onOpen: centre,
    });
    window.__issuegraphCy = cy; // for the end-to-end test and the curious
    document.title = `issuegraph: ${graph.start.reference} dependency graph`;
    summaryBox.replaceChildren(h('h2', {}, graph.start.reference, ' ', graph.start.title), summary(graph));
    details.replaceChildren(issueDetails(graph.start));
    status.textContent = '';
    canvas.dataset.state = 'ready';
  } catch (error) {
    cy?.destroy();
    cy = null;
    canvas.dataset.nodeCount = '0';
    canvas.dataset.state = 'error';
    summaryBox.replaceChildren();
    status.textContent = error.message;
    status.className = 'ig-status ig-error';
  }
}

function centre(issue) {
  form.project.value = issue.project.fullPath;
  form.iid.value = String(issue.iid);
  show(formParams());
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  show(formParams());
});
window.addEventListener('popstate', () => {
  fillForm(readParams());
  show(readParams(), { push: false });
});
document.getElementById('graph-legend').append(legend());
fillForm(readParams());
show(readParams(), { push: false });
