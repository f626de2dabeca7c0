// Dependency graphs drawn with Cytoscape: an issue's (the `dependencies` and `criticalPath`
// fields) or a project's (`Project.graph`). Shared by the full-page view (/graphql/graph)
// and the GraphiQL plugin.
import cytoscape from 'cytoscape';

import { postGraphQL } from '../fetcher.js';

export const DIRECTIONS = ['BOTH', 'UPSTREAM', 'DOWNSTREAM'];
// Link kinds as `dependencies` takes them (an inverse name counts as its kind).
export const LINK_KINDS = ['BLOCKS', 'PARENT_OF', 'RELATES_TO', 'DUPLICATES', 'CLONES'];

export const STATE_COLOURS = { OPENED: '#1a7f37', CLOSED: '#8250df' };
export const LINK_COLOURS = {
  BLOCKS: '#cf222e',
  PARENT_OF: '#0969da',
  RELATES_TO: '#6e7781',
  DUPLICATES: '#bc4c00',
  CLONES: '#1b7c83',
};
export const LINK_PHRASES = {
  BLOCKS: 'blocks',
  PARENT_OF: 'parent of',
  RELATES_TO: 'relates to',
  DUPLICATES: 'duplicates',
  CLONES: 'clones',
};
export const CRITICAL_COLOUR = '#ffb000';
// The state filter's choices, as `states` takes them (all: no filter).
export const STATE_FILTERS = { all: null, open: ['OPENED'], closed: ['CLOSED'] };
// A project view draws at most this many of the project's issues unless told otherwise
// (Project.graph takes 1..1000).
export const PROJECT_FIRST = 300;
export const PROJECT_FIRST_MAX = 1000;

const ISSUE_FIELDS = `
fragment GraphIssue on Issue {
  id
  iid
  reference
  title
  state
  labels
  weight
  confidential
  webUrl
  dueDate
  assignees { username webUrl }
  project { fullPath }
}`;

// Enum values go into the text (checked against the lists above), so the query does not
// depend on the names of the schema's enum types.
function linkKinds(types) {
  const kinds = types.filter((t) => LINK_KINDS.includes(t));
  if (kinds.length === 0) throw new Error('choose at least one link type');
  return kinds;
}

// `states: [...]` for a state filter's name ('all', 'open', 'closed'), '' for no filter.
function statesArgument(state) {
  const states = STATE_FILTERS[state ?? 'all'];
  if (states === undefined) throw new Error(`unknown state ${state}`);
  return states ? `states: [${states.join(', ')}]` : '';
}

// `hidden: true` asks how many linked issues the viewer may not read as well.
export function graphQuery({ direction, types, maxDepth, state, hidden = false }) {
  if (!DIRECTIONS.includes(direction)) throw new Error(`unknown direction ${direction}`);
  const kinds = linkKinds(types);
  const states = statesArgument(state);
  const depth = Number.isInteger(maxDepth) && maxDepth > 0 ? maxDepth : 50;
  return `query DependencyGraph($project: ID!, $iid: Int!) {
  issue(project: $project, iid: $iid) {
    ...GraphIssue
    criticalPath { issueCount totalWeight issues { id reference } }
    dependencies(
      direction: ${direction}
      linkTypes: [${kinds.join(', ')}]
      maxDepth: ${depth}
      first: ${MAX_NODES}
      ${states}
    ) {
      depthReached
      truncated
      ${hidden ? 'hiddenCount' : ''}
      nodes { distance issue { ...GraphIssue } }
      edges { id databaseId linkType source { id } target { id } }
    }
  }
}
${ISSUE_FIELDS}`;
}

export async function loadGraph(params, headers) {
  const iid = Number.parseInt(params.iid, 10);
  if (!params.project || !Number.isInteger(iid)) throw new Error('give a project and an iid');
  const body = await postGraphQL(
    { query: graphQuery(params), variables: { project: params.project, iid } },
    headers,
  );
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  const issue = body.data?.issue;
  if (!issue) {
    throw new Error(
      `no issue ${params.project}#${iid} that you may read (private projects need a token)`,
    );
  }
  const { dependencies, criticalPath, ...start } = issue;
  return {
    kind: 'issue',
    project: start.project.fullPath,
    start,
    nodes: [
      { issue: start, distance: 0 },
      ...dependencies.nodes.map((n) => ({ issue: n.issue, distance: n.distance })),
    ],
    edges: dependencies.edges,
    criticalPath,
    depthReached: dependencies.depthReached,
    truncated: dependencies.truncated,
    hiddenCount: dependencies.hiddenCount ?? 0,
  };
}

// A project's graph: its issues (all, or those with `label`, in `state`), the links among
// them of the `types` kinds and the readable issues of other projects at their far ends.
export function projectGraphQuery({ types, state }) {
  const kinds = linkKinds(types);
  const states = statesArgument(state);
  return `query ProjectGraph($project: ID!, $labels: [String!], $first: Int!) {
  project(fullPath: $project) {
    fullPath
    name
    graph(labels: $labels, linkTypes: [${kinds.join(', ')}], first: $first ${states}) {
      issueCount
      truncated
      hiddenCount
      nodes { ...GraphIssue }
      edges { id databaseId linkType source { id } target { id } }
    }
  }
}
${ISSUE_FIELDS}`;
}

export async function loadProjectGraph(params, headers) {
  if (!params.project) throw new Error('give a project');
  const first = params.first ? Number(params.first) : PROJECT_FIRST;
  if (!Number.isInteger(first) || first < 1 || first > PROJECT_FIRST_MAX) {
    throw new Error(`the bound must be a number from 1 to ${PROJECT_FIRST_MAX}`);
  }
  const label = (params.label ?? '').trim();
  const body = await postGraphQL(
    {
      query: projectGraphQuery(params),
      variables: { project: params.project, labels: label ? [label] : null, first },
    },
    headers,
  );
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
  const project = body.data?.project;
  if (!project) {
    throw new Error(`no project ${params.project} that you may read (private projects need a token)`);
  }
  const { graph } = project;
  return {
    kind: 'project',
    project: project.fullPath,
    name: project.name,
    label,
    nodes: graph.nodes.map((issue) => ({ issue })),
    edges: graph.edges,
    issueCount: graph.issueCount,
    // How many of the project's own issues are drawn (the rest are other projects').
    shownCount: graph.nodes.filter((i) => i.project.fullPath === project.fullPath).length,
    truncated: graph.truncated,
    hiddenCount: graph.hiddenCount,
  };
}

function shorten(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function nodeLabel(issue, startProject) {
  const ref = issue.project.fullPath === startProject ? `#${issue.iid}` : issue.reference;
  return `${ref}\n${shorten(issue.title, 48)}`;
}

function elements(graph) {
  const startProject = graph.project ?? graph.start.project.fullPath;
  const onPath = (graph.criticalPath?.issues ?? []).map((i) => i.id);
  const pathSteps = new Set(onPath.slice(1).map((id, n) => `${onPath[n]}>${id}`));
  const nodes = graph.nodes.map(({ issue, distance }) => ({
    group: 'nodes',
    data: { id: issue.id, label: nodeLabel(issue, startProject), issue, distance },
    classes: [
      issue.state.toLowerCase(),
      distance === 0 ? 'start' : '',
      onPath.includes(issue.id) && onPath.length > 1 ? 'critical' : '',
    ]
      .filter(Boolean)
      .join(' '),
  }));
  const known = new Set(nodes.map((n) => n.data.id));
  const edges = graph.edges
    .filter((e) => known.has(e.source.id) && known.has(e.target.id))
    .map((e) => ({
      group: 'edges',
      data: {
        id: e.id,
        source: e.source.id,
        target: e.target.id,
        linkType: e.linkType,
        label: LINK_PHRASES[e.linkType] ?? e.linkType.toLowerCase(),
      },
      classes: [
        e.linkType.toLowerCase(),
        pathSteps.has(`${e.source.id}>${e.target.id}`) ? 'critical' : '',
      ]
        .filter(Boolean)
        .join(' '),
    }));
  return [...nodes, ...edges];
}

const NODE_WIDTH = 176;
const NODE_HEIGHT = 58;
const TRANSPOSE_LIMIT = 150;
// The graph view asks for at most this many issues (nearest first).
export const MAX_NODES = 500;

// A layered drawing: every link points down (a node sits one layer below the lowest
// issue linking to it), and each layer is ordered to keep links short and uncrossed.
// Issues with no link drawn (common in a project's graph) go in a grid below it.
export function layered(graph) {
  const known = new Set(graph.nodes.map((n) => n.issue.id));
  const links = graph.edges.filter((e) => known.has(e.source.id) && known.has(e.target.id));
  const linked = new Set(links.flatMap((e) => [e.source.id, e.target.id]));
  const isolated = graph.nodes.filter((n) => !linked.has(n.issue.id));
  if (isolated.length < 2) return layeredLinks(graph);
  const drawn = layeredLinks({ nodes: graph.nodes.filter((n) => linked.has(n.issue.id)), edges: links });
  const ys = Object.values(drawn.positions).map((p) => p.y);
  const top = ys.length ? Math.max(...ys) + NODE_HEIGHT + 90 : 0;
  const columns = Math.max(4, Math.ceil(Math.sqrt(isolated.length * 3)));
  const slot = NODE_WIDTH + 40;
  const width = Math.min(columns, isolated.length) * slot;
  isolated.forEach((n, i) => {
    drawn.positions[n.issue.id] = {
      x: -width / 2 + ((i % columns) + 0.5) * slot,
      y: top + Math.floor(i / columns) * (NODE_HEIGHT + 30),
    };
  });
  return drawn;
}

function layeredLinks(graph) {
  const ids = graph.nodes.map((n) => n.issue.id);
  const known = new Set(ids);
  const links = graph.edges.filter((e) => known.has(e.source.id) && known.has(e.target.id));
  const down = new Map(ids.map((id) => [id, []]));
  const up = new Map(ids.map((id) => [id, []]));
  const waiting = new Map(ids.map((id) => [id, 0]));
  for (const e of links) {
    down.get(e.source.id).push(e.target.id);
    up.get(e.target.id).push(e.source.id);
    waiting.set(e.target.id, waiting.get(e.target.id) + 1);
  }
  const rank = new Map(ids.map((id) => [id, 0]));
  const placed = new Set();
  const topological = [];
  const queue = ids.filter((id) => waiting.get(id) === 0);
  while (placed.size < ids.length) {
    if (queue.length === 0) {
      // A cycle across link kinds (say blocks one way, parent of the other): break it at the
      // unplaced issue with the fewest links still waiting.
      const rest = ids.filter((id) => !placed.has(id));
      queue.push(rest.reduce((a, b) => (waiting.get(b) < waiting.get(a) ? b : a)));
    }
    const id = queue.shift();
    if (placed.has(id)) continue;
    placed.add(id);
    topological.push(id);
    for (const next of down.get(id)) {
      if (placed.has(next)) continue;
      rank.set(next, Math.max(rank.get(next), rank.get(id) + 1));
      waiting.set(next, waiting.get(next) - 1);
      if (waiting.get(next) === 0) queue.push(next);
    }
  }
  // Then, from the bottom up, each issue moves down to just above the nearest issue it links
  // to: an issue that only blocks #3 sits right above #3, not at the top.
  for (const id of topological.reverse()) {
    const below = down.get(id).map((n) => rank.get(n)).filter((r) => r > rank.get(id));
    if (below.length) rank.set(id, Math.min(...below) - 1);
  }
  // A link that spans layers gets a waypoint in each layer it crosses, placed like an issue,
  // so the ordering keeps a lane free for it and it bends around issues, not through them.
  const layers = [];
  for (const id of ids) (layers[rank.get(id)] ??= []).push(id);
  const waypoints = new Map();
  for (const e of links) {
    const [from, to] = [rank.get(e.source.id), rank.get(e.target.id)];
    if (to - from < 2) continue;
    let previous = e.source.id;
    const chain = [];
    for (let r = from + 1; r < to; r += 1) {
      const id = `${e.id}~${r}`;
      layers[r].push(id);
      up.set(id, [previous]);
      down.set(id, []);
      down.get(previous).push(id);
      previous = id;
      chain.push(id);
    }
    down.get(previous).push(e.target.id);
    up.get(e.target.id).push(previous);
    waypoints.set(e.id, chain);
  }
  const order = new Map();
  layers.forEach((layer) => layer?.forEach((id, i) => order.set(id, i)));
  // Barycentre sweeps, down then up: each issue moves towards the issues it links with.
  const sweep = (layer, neighbours) => {
    const centre = (id) => {
      const at = neighbours.get(id).filter((n) => order.has(n)).map((n) => order.get(n));
      return at.length ? at.reduce((a, b) => a + b, 0) / at.length : order.get(id);
    };
    layer.sort((a, b) => centre(a) - centre(b));
    layer.forEach((id, i) => order.set(id, i));
  };
  for (let round = 0; round < 4; round += 1) {
    layers.slice(1).forEach((layer) => layer && sweep(layer, up));
    layers.slice(0, -1).reverse().forEach((layer) => layer && sweep(layer, down));
  }
  // Then swap neighbours while that uncrosses links.
  const crossings = (upper, lower) => {
    if (!upper || !lower) return 0;
    const inLower = new Set(lower);
    const pairs = upper.flatMap((u) =>
      down.get(u).filter((v) => inLower.has(v)).map((v) => [order.get(u), order.get(v)]),
    );
    let count = 0;
    for (let i = 0; i < pairs.length; i += 1) {
      for (let j = i + 1; j < pairs.length; j += 1) {
        if ((pairs[i][0] - pairs[j][0]) * (pairs[i][1] - pairs[j][1]) < 0) count += 1;
      }
    }
    return count;
  };
  const total = () => layers.reduce((sum, layer, r) => sum + crossings(layer, layers[r + 1]), 0);
  const swap = (layer, i) => {
    [layer[i], layer[i + 1]] = [layer[i + 1], layer[i]];
    order.set(layer[i], i);
    order.set(layer[i + 1], i + 1);
  };
  // Sideways swaps (no worse) are taken too, to get past ties; the best order seen is kept.
  // (Quadratic in the links of a layer: only for graphs a person can still read.)
  let best = { count: total(), layers: layers.map((l) => l && [...l]) };
  const rounds = order.size <= TRANSPOSE_LIMIT ? 12 : 0;
  for (let round = 0; round < rounds && best.count > 0; round += 1) {
    layers.forEach((layer, r) => {
      for (let i = 0; layer && i + 1 < layer.length; i += 1) {
        const around = () => crossings(layers[r - 1], layer) + crossings(layer, layers[r + 1]);
        const before = around();
        swap(layer, i);
        if (around() > before) swap(layer, i);
      }
    });
    const count = total();
    if (count < best.count) best = { count, layers: layers.map((l) => l && [...l]) };
  }
  best.layers.forEach((layer, r) => {
    layers[r] = layer;
    layer?.forEach((id, i) => order.set(id, i));
  });
  // Issues take a node's width, waypoints a narrow lane; each layer is centred.
  const isWaypoint = (id) => waypoints.has(id.split('~')[0]) && id.includes('~');
  const slot = (id) => (isWaypoint(id) ? 50 : NODE_WIDTH + 40);
  const positions = {};
  layers.forEach((layer, r) => {
    if (!layer) return;
    const width = layer.reduce((sum, id) => sum + slot(id), 0);
    let x = -width / 2;
    for (const id of layer) {
      positions[id] = { x: x + slot(id) / 2, y: r * (NODE_HEIGHT + 70) };
      x += slot(id);
    }
  });
  // Cytoscape places a bend as a weight along the source-target line and a distance off it.
  const bends = new Map();
  for (const [edgeId, chain] of waypoints) {
    const e = links.find((l) => l.id === edgeId);
    const [a, b] = [positions[e.source.id], positions[e.target.id]];
    const [vx, vy] = [b.x - a.x, b.y - a.y];
    const length = Math.hypot(vx, vy);
    const points = chain.map((id) => {
      const [px, py] = [positions[id].x - a.x, positions[id].y - a.y];
      return {
        weight: (px * vx + py * vy) / (length * length),
        distance: (py * vx - px * vy) / length,
      };
    });
    if (points.some((p) => Math.abs(p.distance) > 1)) bends.set(edgeId, points);
  }
  for (const id of [...waypoints.values()].flat()) delete positions[id];
  return { positions, bends };
}

const STYLE = [
  {
    selector: 'node',
    style: {
      shape: 'round-rectangle',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-max-width': `${NODE_WIDTH - 14}px`,
      'text-valign': 'center',
      'text-halign': 'center',
      'font-size': '11px',
      'font-family': 'system-ui, sans-serif',
      color: '#ffffff',
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      'border-width': 2,
      'border-color': '#ffffff',
    },
  },
  ...Object.entries(STATE_COLOURS).map(([state, colour]) => ({
    selector: `node.${state.toLowerCase()}`,
    style: { 'background-color': colour },
  })),
  { selector: 'node.start', style: { 'border-width': 4, 'border-color': '#1f2328' } },
  {
    selector: '.critical',
    style: { 'underlay-color': CRITICAL_COLOUR, 'underlay-padding': 7, 'underlay-opacity': 0.8 },
  },
  {
    selector: 'node:selected',
    style: { 'overlay-color': '#0969da', 'overlay-opacity': 0.25, 'overlay-padding': 6 },
  },
  {
    selector: 'edge',
    style: {
      width: 2.5,
      'curve-style': 'bezier',
      'target-arrow-shape': 'triangle',
      'arrow-scale': 1.2,
      label: 'data(label)',
      'font-size': '9px',
      color: '#57606a',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.85,
      'text-background-padding': '2px',
      'text-rotation': 'autorotate',
    },
  },
  ...Object.entries(LINK_COLOURS).map(([kind, colour]) => ({
    selector: `edge.${kind.toLowerCase()}`,
    style: { 'line-color': colour, 'target-arrow-color': colour },
  })),
  { selector: 'edge.relates_to', style: { 'line-style': 'dashed', 'target-arrow-shape': 'none' } },
  { selector: 'edge.critical', style: { width: 4, 'underlay-padding': 5 } },
];

// Draw `graph` into `container`; `onSelect(issue)` on a click, `onOpen(issue)` on a
// double click. Returns the Cytoscape instance.
export function drawGraph(container, graph, { onSelect, onOpen } = {}) {
  const layout = layered(graph);
  const cy = cytoscape({
    container,
    elements: elements(graph),
    style: STYLE,
    layout: { name: 'preset', positions: layout.positions, fit: true, padding: 30 },
    minZoom: 0.2,
    maxZoom: 3,
    boxSelectionEnabled: false,
    autoungrabify: false,
  });
  for (const [edgeId, points] of layout.bends) {
    cy.getElementById(edgeId).style({
      'curve-style': 'round-segments',
      'edge-distances': 'node-position',
      'segment-weights': points.map((p) => p.weight.toFixed(4)).join(' '),
      'segment-distances': points.map((p) => p.distance.toFixed(1)).join(' '),
      'segment-radii': 24,
    });
  }
  cy.on('tap', 'node', (event) => onSelect?.(event.target.data('issue')));
  cy.on('dbltap', 'node', (event) => onOpen?.(event.target.data('issue')));
  container.dataset.nodeCount = String(cy.nodes().length);
  container.dataset.edgeCount = String(cy.edges().length);
  container.dataset.criticalCount = String(cy.nodes('.critical').length);
  return cy;
}

// Build DOM with text only (issue titles are user data: never innerHTML).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'style') Object.assign(el.style, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function legend() {
  const swatch = (colour, text, className = 'swatch') =>
    h('li', {}, h('span', { className, style: { background: colour } }), text);
  return h(
    'div',
    { className: 'ig-legend' },
    h('h3', {}, 'Issues'),
    h(
      'ul',
      {},
      swatch(STATE_COLOURS.OPENED, 'open'),
      swatch(STATE_COLOURS.CLOSED, 'closed'),
      swatch(CRITICAL_COLOUR, 'on the critical path'),
    ),
    h('h3', {}, 'Links'),
    h(
      'ul',
      {},
      Object.entries(LINK_COLOURS).map(([kind, colour]) =>
        swatch(colour, LINK_PHRASES[kind], 'swatch line'),
      ),
    ),
  );
}

// The graph page's address for a view: a project's (optionally one label's) or an issue's.
export function graphPageUrl({ project, iid, label }) {
  const query = new URLSearchParams({ project });
  if (iid !== undefined && iid !== null && iid !== '') query.set('iid', String(iid));
  else if (label) query.set('label', label);
  return `/graphql/graph?${query}`;
}

// An issue's details; `links: true` adds links to its page (`webUrl`), its assignees'
// pages, and the graph page's views of it, of its project and of each of its labels.
export function issueDetails(issue, { onCentre, links = false } = {}) {
  const row = (name, value) =>
    value === null || value === undefined || value === '' ? null : h('tr', {}, h('th', {}, name), h('td', {}, value));
  const project = issue.project.fullPath;
  const labels = links
    ? issue.labels.flatMap((label, i) => [
        i ? ', ' : null,
        h(
          'a',
          { href: graphPageUrl({ project, label }), title: `the graph of ${project}'s ${label} issues` },
          label,
        ),
      ])
    : issue.labels.join(', ');
  return h(
    'div',
    { className: 'ig-details' },
    h('h3', {}, issue.reference),
    h('p', { className: 'ig-title' }, issue.title),
    h(
      'table',
      {},
      row('state', h('span', { className: `ig-state ${issue.state.toLowerCase()}` }, issue.state)),
      row('labels', issue.labels.length ? labels : null),
      row(
        'assignees',
        links && issue.assignees.length
          ? issue.assignees.flatMap((a, i) => [i ? ', ' : null, h('a', { href: a.webUrl }, a.username)])
          : issue.assignees.map((a) => a.username).join(', '),
      ),
      row('weight', issue.weight),
      row('due', issue.dueDate),
      row('confidential', issue.confidential ? 'yes' : null),
      links ? null : row('web URL', issue.webUrl),
    ),
    links
      ? h(
          'ul',
          { className: 'ig-links' },
          h('li', {}, h('a', { href: issue.webUrl, target: '_blank', rel: 'noopener' }, 'Open the issue')),
          h('li', {}, h('a', { href: graphPageUrl({ project, iid: issue.iid }) }, 'Graph of this issue')),
          h('li', {}, h('a', { href: graphPageUrl({ project }) }, `Graph of ${project}`)),
        )
      : null,
    onCentre
      ? h(
          'button',
          { type: 'button', className: 'ig-button', onClick: () => onCentre(issue) },
          'Centre the graph on this issue',
        )
      : null,
  );
}

export function summary(graph) {
  if (graph.kind === 'project') {
    return h(
      'div',
      { className: 'ig-summary' },
      h(
        'p',
        {},
        `${graph.nodes.length} issues, ${graph.edges.length} links`,
        graph.label ? ` (label ${graph.label})` : '',
      ),
      graph.truncated
        ? h(
            'p',
            { className: 'ig-truncated', role: 'note' },
            `Showing ${graph.shownCount} of ${graph.issueCount} issues; narrow by label or state.`,
          )
        : null,
    );
  }
  const path = graph.criticalPath;
  return h(
    'div',
    { className: 'ig-summary' },
    h(
      'p',
      {},
      `${graph.nodes.length} issues, ${graph.edges.length} links, depth ${graph.depthReached}`,
      graph.truncated ? ' (truncated)' : '',
    ),
    h(
      'p',
      {},
      'Critical path: ',
      path.issueCount > 1
        ? `${path.issues.map((i) => i.reference).join(' → ')} (weight ${path.totalWeight})`
        : 'no open blockers',
    ),
  );
}
