// The full-page dependency graph, /graphql/graph. The address is the view, so it can be
// shared and reloaded:
//   ?project=acme/platform                 the project's issues and their links
//   ?project=acme/platform&label=backend   the project's issues with a label
//   ?project=acme/platform&iid=5           an issue's dependencies (direction=BOTH|UPSTREAM|DOWNSTREAM)
// and the filters: state=open|closed (all when absent), types=BLOCKS,PARENT_OF,... (every kind
// when absent), first=N (a project view's bound, 1..1000). Without a project it shows the
// form and draws nothing.
import './style.css';
import { download, dotBlob, exportName, pngBlob, svgBlob } from './graph/export.js';
import {
  DIRECTIONS,
  LINK_KINDS,
  LINK_PHRASES,
  PROJECT_FIRST,
  PROJECT_FIRST_MAX,
  STATE_FILTERS,
  drawGraph,
  h,
  issueDetails,
  legend,
  loadGraph,
  loadProjectGraph,
  summary,
} from './graph/graph.js';
import { authHeaders, clearToken, onTokenChange, saveToken, savedToken, whoAmI } from './session.js';

const form = document.getElementById('graph-form');
const canvas = document.getElementById('graph');
const status = document.getElementById('graph-status');
const notice = document.getElementById('graph-notice');
const summaryBox = document.getElementById('graph-summary');
const details = document.getElementById('graph-details');
const exportBox = document.getElementById('graph-export');
const sessionBox = document.getElementById('graph-session');
const HINT =
  'Choose a project and press Draw: with an issue number, that issue’s dependencies; ' +
  'without one, every issue of the project (or of one label) with their links.';
let cy = null;
let current = null; // the view drawn, or being drawn
let drawing = 0; // the number of the latest request: an older answer is dropped

// The page used to keep its own token in sessionStorage; the playground's one token store
// (session.js) replaces it.
try {
  window.sessionStorage.removeItem('issuegraph:graph-token');
} catch {
  // storage disabled: nothing to remove
}

class ViewError extends Error {}

// A view from an address's query, null when it names no project; a bad value throws.
function readView(search = window.location.search) {
  const query = new URLSearchParams(search);
  const project = (query.get('project') ?? '').trim();
  if (!project) return null;
  return checkedView({
    project,
    iid: (query.get('iid') ?? '').trim(),
    label: (query.get('label') ?? '').trim(),
    direction: (query.get('direction') || 'BOTH').toUpperCase(),
    state: (query.get('state') || 'all').toLowerCase(),
    types: query.has('types')
      ? query
          .get('types')
          .split(',')
          .map((t) => t.trim().toUpperCase())
          .filter(Boolean)
      : LINK_KINDS,
    first: (query.get('first') ?? '').trim(),
  });
}

function checkedView(view) {
  if (!view.project) throw new ViewError('Give a project, such as acme/platform.');
  if (view.iid && !/^[1-9][0-9]{0,9}$/.test(view.iid)) {
    throw new ViewError(`The issue number must be a positive whole number, not “${view.iid}”.`);
  }
  if (!DIRECTIONS.includes(view.direction)) {
    throw new ViewError(`The direction must be one of ${DIRECTIONS.join(', ')}.`);
  }
  if (!(view.state in STATE_FILTERS)) throw new ViewError('The state must be open, closed or all.');
  const unknown = view.types.filter((t) => !LINK_KINDS.includes(t));
  if (unknown.length) throw new ViewError(`Unknown link type ${unknown.join(', ')}.`);
  if (view.types.length === 0) throw new ViewError('Choose at least one link type.');
  if (view.first) {
    const first = Number(view.first);
    if (!/^[0-9]+$/.test(view.first) || first < 1 || first > PROJECT_FIRST_MAX) {
      throw new ViewError(`The bound must be a number from 1 to ${PROJECT_FIRST_MAX}.`);
    }
  }
  // An issue view has no label and no bound; a project view no direction.
  if (view.iid) return { ...view, label: '', first: '' };
  return { ...view, direction: 'BOTH' };
}

function viewSearch(view) {
  const query = new URLSearchParams({ project: view.project });
  if (view.iid) query.set('iid', view.iid);
  else if (view.label) query.set('label', view.label);
  if (view.iid && view.direction !== 'BOTH') query.set('direction', view.direction);
  if (view.state !== 'all') query.set('state', view.state);
  if (view.types.length !== LINK_KINDS.length) query.set('types', view.types.join(','));
  if (!view.iid && view.first) query.set('first', view.first);
  return `?${query}`;
}

function fillForm(view) {
  const v = view ?? {
    project: '',
    iid: '',
    label: '',
    direction: 'BOTH',
    state: 'all',
    types: LINK_KINDS,
    first: '',
  };
  form.project.value = v.project;
  form.iid.value = v.iid;
  form.label.value = v.label;
  form.direction.replaceChildren(...DIRECTIONS.map((d) => h('option', { value: d }, d.toLowerCase())));
  form.direction.value = v.direction;
  form.state.value = v.state;
  form.first.value = v.first;
  form.first.placeholder = String(PROJECT_FIRST);
  const box = document.getElementById('graph-types');
  box.querySelectorAll('label').forEach((l) => l.remove());
  for (const kind of LINK_KINDS) {
    box.append(
      h(
        'label',
        {},
        h('input', { type: 'checkbox', name: 'types', value: kind, checked: v.types.includes(kind) }),
        LINK_PHRASES[kind],
      ),
    );
  }
  showMode();
}

function formView() {
  return checkedView({
    project: form.project.value.trim(),
    iid: form.iid.value.trim(),
    label: form.label.value.trim(),
    direction: form.direction.value,
    state: form.state.value,
    types: [...form.querySelectorAll('input[name=types]:checked')].map((i) => i.value),
    first: form.first.value.trim(),
  });
}

// The fields of the other view are hidden: an issue number makes it an issue view.
function showMode() {
  const issueView = form.iid.value.trim() !== '';
  form.dataset.view = issueView ? 'issue' : 'project';
  for (const el of form.querySelectorAll('.ig-issue-only')) el.hidden = !issueView;
  for (const el of form.querySelectorAll('.ig-project-only')) el.hidden = issueView;
}

function setStatus(text, error = false) {
  status.textContent = text;
  status.className = error ? 'ig-status ig-error' : 'ig-status';
}

function clearDrawing() {
  cy?.destroy();
  cy = null;
  window.__issuegraphCy = null;
  canvas.replaceChildren();
  canvas.dataset.nodeCount = '0';
  canvas.dataset.edgeCount = '0';
  delete canvas.dataset.hiddenCount;
  notice.hidden = true;
  notice.replaceChildren();
  summaryBox.replaceChildren();
  exportBox.hidden = true;
}

// No project chosen: the form and what to do with it.
function showEmpty() {
  drawing += 1;
  current = null;
  clearDrawing();
  canvas.dataset.state = 'empty';
  delete canvas.dataset.view;
  canvas.append(h('p', { className: 'ig-empty ig-hint' }, HINT));
  details.replaceChildren(h('p', { className: 'ig-hint' }, HINT));
  setStatus('');
  document.title = 'issuegraph: dependency graph';
  form.project.focus();
}

function showError(message) {
  clearDrawing();
  canvas.dataset.state = 'error';
  details.replaceChildren();
  setStatus(message, true);
}

function pushUrl(view) {
  const url = `${window.location.pathname}${viewSearch(view)}`;
  if (url !== `${window.location.pathname}${window.location.search}`) {
    window.history.pushState(null, '', url);
  }
}

function hiddenNotice(count) {
  if (!count) return;
  const anonymous = !savedToken();
  notice.replaceChildren(
    `${count} linked ${count === 1 ? 'issue is' : 'issues are'} hidden from you`,
    anonymous ? '; sign in to see more.' : '.',
  );
  notice.hidden = false;
}

async function show(view, { push = true } = {}) {
  const request = (drawing += 1);
  current = view;
  if (push) pushUrl(view);
  const what = view.iid
    ? `${view.project}#${view.iid}`
    : view.label
      ? `${view.project} ~${view.label}`
      : view.project;
  setStatus(`Loading ${what} …`);
  canvas.dataset.state = 'loading';
  let graph;
  try {
    graph = view.iid
      ? await loadGraph({ ...view, hidden: true }, authHeaders())
      : await loadProjectGraph(view, authHeaders());
  } catch (error) {
    if (request === drawing) showError(error.message);
    return;
  }
  if (request !== drawing) return;
  clearDrawing();
  cy = drawGraph(canvas, graph, {
    onSelect: (issue) => details.replaceChildren(issueDetails(issue, { onCentre: centre, links: true })),
    onOpen: centre,
  });
  window.__issuegraphCy = cy; // for the end-to-end test and the curious
  canvas.dataset.view = graph.kind;
  canvas.dataset.hiddenCount = String(graph.hiddenCount);
  hiddenNotice(graph.hiddenCount);
  if (graph.kind === 'issue') {
    document.title = `issuegraph: ${graph.start.reference} dependency graph`;
    summaryBox.replaceChildren(h('h2', {}, graph.start.reference, ' ', graph.start.title), summary(graph));
    details.replaceChildren(issueDetails(graph.start, { links: true }));
  } else {
    const title = graph.label ? `${graph.project} ~${graph.label}` : graph.project;
    document.title = `issuegraph: ${title} dependency graph`;
    summaryBox.replaceChildren(h('h2', {}, title), summary(graph));
    details.replaceChildren(
      h('p', { className: 'ig-hint' }, 'Click an issue for its details; double-click it for its own graph.'),
    );
  }
  exportBox.hidden = false;
  setStatus('');
  canvas.dataset.state = 'ready';
}

// An issue's own graph, with the filters of the view it was picked from.
function centre(issue) {
  const view = {
    ...(current ?? formView()),
    project: issue.project.fullPath,
    iid: String(issue.iid),
    label: '',
    first: '',
  };
  fillForm(view);
  show(view);
}

function drawForm() {
  let view;
  try {
    view = formView();
  } catch (error) {
    if (!(error instanceof ViewError)) throw error;
    showError(error.message);
    return;
  }
  show(view);
}

function drawAddress({ push = false } = {}) {
  let view;
  try {
    view = readView();
  } catch (error) {
    if (!(error instanceof ViewError)) throw error;
    fillForm(null);
    showError(error.message);
    return;
  }
  fillForm(view);
  if (view) show(view, { push });
  else showEmpty();
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  drawForm();
});
form.iid.addEventListener('input', showMode);
// The filters apply at once to a view already drawn, by asking the server again (both
// `Project.graph` and `dependencies` take `states` and `linkTypes`): the counts, the bound
// and the hidden-issue notice then describe exactly what is drawn.
form.addEventListener('change', (event) => {
  if (current && (event.target.name === 'state' || event.target.name === 'types')) drawForm();
});
window.addEventListener('popstate', () => drawAddress());

// -- exports ----------------------------------------------------------------------------------

exportBox.addEventListener('click', async (event) => {
  const format = event.target.closest('button[data-export]')?.dataset.export;
  if (!format || !cy || !current) return;
  const view = current;
  try {
    let blob;
    if (format === 'svg') blob = svgBlob(cy);
    else if (format === 'png') blob = await pngBlob(cy);
    else blob = await dotBlob(view, authHeaders());
    download(blob, exportName(view, format === 'dot' ? 'gv' : format));
  } catch (error) {
    setStatus(error.message, true);
  }
});

// -- signing in -------------------------------------------------------------------------------

function signInForm(message = '') {
  const input = h('input', {
    name: 'token',
    type: 'password',
    size: 16,
    placeholder: 'personal access token',
    autocomplete: 'off',
    'aria-label': 'personal access token',
  });
  const signIn = h(
    'form',
    { className: 'ig-signin', title: 'A personal access token: .venv/bin/issuegraph tokens create alice' },
    input,
    h('button', { type: 'submit', className: 'ig-button ig-secondary' }, 'Sign in'),
    message ? h('span', { className: 'ig-error', role: 'alert' }, message) : null,
  );
  signIn.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    try {
      const viewer = await whoAmI(token);
      if (!viewer) throw new Error('the token signs in as nobody');
      saveToken(token); // the token-change listener redraws
    } catch (error) {
      sessionBox.replaceChildren(signInForm(`Not signed in: ${error.message}`));
    }
  });
  return signIn;
}

function signedIn(username) {
  const out = h('button', { type: 'button', className: 'ig-button ig-secondary' }, 'Sign out');
  out.addEventListener('click', () => clearToken());
  return h(
    'div',
    { className: 'ig-signed-in' },
    'signed in as ',
    h('strong', { className: 'ig-username' }, username),
    ' ',
    out,
  );
}

async function showSession(token = savedToken()) {
  sessionBox.dataset.state = 'checking';
  if (!token) {
    sessionBox.replaceChildren(signInForm());
    sessionBox.dataset.state = 'anonymous';
    return;
  }
  try {
    const viewer = await whoAmI(token);
    if (token !== savedToken()) return; // changed meanwhile: that change shows itself
    sessionBox.replaceChildren(viewer ? signedIn(viewer.username) : signInForm());
    sessionBox.dataset.state = viewer ? 'signed-in' : 'anonymous';
  } catch (error) {
    if (token !== savedToken()) return;
    const out = h('button', { type: 'button', className: 'ig-button ig-secondary' }, 'Sign out');
    out.addEventListener('click', () => clearToken());
    sessionBox.replaceChildren(
      h(
        'div',
        { className: 'ig-signed-in' },
        h('span', { className: 'ig-error' }, `The saved token is refused: ${error.message}`),
        ' ',
        out,
      ),
    );
    sessionBox.dataset.state = 'refused';
  }
}

// A sign-in or sign-out, here or in another tab: the view is drawn again for the new viewer.
onTokenChange((token) => {
  showSession(token);
  if (current) show(current, { push: false });
});

document.getElementById('graph-legend').append(legend());
showSession();
drawAddress();
