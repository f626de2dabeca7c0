// A GraphiQL plugin (a sidebar pane) that draws the dependency graph of the issue the active
// tab names, with the headers that tab's requests carry (the signed-in token, or the tab's
// own Authorization header), so a token shows the private parts too.
import { useGraphiQL } from '@graphiql/react';
import { BREAK, Kind, parse, visit } from 'graphql';
import { useEffect, useMemo, useRef, useState } from 'react';

import { parseHeaders, requestHeaders } from '../fetcher.js';
import { useToken } from '../signin.jsx';
import { LINK_KINDS, STATE_COLOURS, drawGraph, issueDetails, legend, loadGraph, summary } from './graph.js';

function GraphIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" strokeWidth="1.6" aria-hidden="true">
      <circle cx="5" cy="6" r="2.5" />
      <circle cx="19" cy="6" r="2.5" />
      <circle cx="12" cy="18" r="2.5" />
      <path d="M7.5 6h9M6.3 8.2l4.4 7.6M17.7 8.2l-4.4 7.6" />
    </svg>
  );
}

const isObject = (value) => value !== null && typeof value === 'object';

// { project, iid } when `project` is a non-empty string and `iid` a positive integer (or its
// digits), else null.
function issueRef(project, iid) {
  const number = typeof iid === 'string' && /^\d+$/.test(iid.trim()) ? Number(iid) : iid;
  if (typeof project !== 'string' || !project.trim()) return null;
  if (!Number.isInteger(number) || number < 1) return null;
  return { project: project.trim(), iid: String(number) };
}

// The first object holding a project and an iid, searched breadth first (`input` of a
// mutation, `links[0]` of a bulk one).
function refInVariables(variables) {
  const queue = [variables];
  for (let seen = 0; queue.length && seen < 200; seen += 1) {
    const value = queue.shift();
    if (!isObject(value)) continue;
    const ref = Array.isArray(value) ? null : issueRef(value.project, value.iid);
    if (ref) return ref;
    queue.push(...Object.values(value));
  }
  return null;
}

// A literal argument's value ($variables looked up); undefined when it is neither.
function literal(node, variables) {
  if (!node) return undefined;
  if (node.kind === Kind.VARIABLE) return variables?.[node.name.value];
  if (node.kind === Kind.INT || node.kind === Kind.STRING) return node.value;
  return undefined;
}

// The issue the active tab names: its variables' project and iid first, then the arguments
// of the first field (`issue(project:, iid:)`) or input object (`from: { project, iid }`) that
// names both. Null when the tab names none.
export function tabIssue(query, variablesText) {
  let variables = {};
  try {
    variables = variablesText?.trim() ? JSON.parse(variablesText) : {};
  } catch {
    variables = {};
  }
  const fromVariables = refInVariables(variables);
  if (fromVariables) return fromVariables;
  let document;
  try {
    document = parse(query ?? '');
  } catch {
    return null;
  }
  let found = null;
  const named = (pairs) => {
    const value = (name) => literal(pairs.find((p) => p.name.value === name)?.value, variables);
    found = issueRef(value('project'), value('iid'));
    return found ? BREAK : undefined;
  };
  visit(document, {
    Field: (node) => named(node.arguments ?? []),
    ObjectValue: (node) => named(node.fields),
  });
  return found;
}

// Legible at the sidebar's width: the drawing fills the pane's width with little margin and
// the pane is no taller than the drawing; once zoomed out, node labels become the issue's
// short reference (the project's last segment on a line of its own when it is another
// project) at a readable size, outlined in the node's colour where they overflow it. The
// titles are in the details below.
const PADDING = 10;
const MIN_HEIGHT = 180;

function fitToPane(cy, container, startProject) {
  cy.fit(undefined, PADDING);
  const drawn = cy.elements().renderedBoundingBox();
  const height = Math.max(MIN_HEIGHT, Math.ceil(drawn.h + 2 * PADDING));
  if (height < container.clientHeight) {
    container.style.height = `${height}px`;
    cy.resize();
    cy.fit(undefined, PADDING);
  }
  const zoom = cy.zoom();
  if (zoom >= 0.9) return;
  const px = (size) => `${Math.round(size / zoom)}px`;
  for (const node of cy.nodes()) {
    const issue = node.data('issue');
    const path = issue.project.fullPath;
    node.data('label', path === startProject ? `#${issue.iid}` : `${path.split('/').pop()}\n#${issue.iid}`);
  }
  cy.style()
    .selector('node')
    .style({
      'font-size': px(13),
      'font-weight': 600,
      'line-height': 1.05,
      'text-max-width': '1000px',
      'text-outline-width': px(2.5),
      'text-outline-color': STATE_COLOURS.OPENED,
    })
    .selector('node.closed')
    .style({ 'text-outline-color': STATE_COLOURS.CLOSED })
    .selector('edge')
    .style({ label: zoom >= 0.6 ? 'data(label)' : '', 'font-size': px(10) })
    .update();
}

function GraphPane() {
  const tab = useGraphiQL((state) => state.tabs[state.activeTabIndex]);
  const token = useToken();
  const query = tab?.query ?? '';
  const variables = tab?.variables ?? '';
  const target = useMemo(() => tabIssue(query, variables), [query, variables]);
  const targetKey = target ? `${target.project}#${target.iid}` : '';
  // Redraw when the headers that would be sent change, not on every keystroke in the editor.
  const headers = JSON.stringify(requestHeaders(parseHeaders(tab?.headers ?? ''), token));
  // An issue drawn by hand (the form, a double click) until the tab names another one.
  const [chosen, setChosen] = useState(null);
  const request = chosen && chosen.tab === targetKey ? chosen.request : target;
  const [project, setProject] = useState('');
  const [iid, setIid] = useState('');
  const [error, setError] = useState('');
  const canvas = useRef(null);
  const side = useRef(null);
  const legendBox = useRef(null);

  useEffect(() => legendBox.current.replaceChildren(legend()), []);
  useEffect(() => {
    setProject(request?.project ?? '');
    setIid(request?.iid ?? '');
  }, [request?.project, request?.iid]);

  useEffect(() => {
    const box = canvas.current;
    box.style.height = '';
    setError('');
    side.current.replaceChildren();
    if (!request) {
      box.dataset.state = 'none';
      delete box.dataset.start;
      delete box.dataset.nodeCount;
      delete box.dataset.references;
      return undefined;
    }
    let cy = null;
    let cancelled = false;
    box.dataset.state = 'loading';
    box.dataset.start = `${request.project}#${request.iid}`;
    const centre = (issue) =>
      setChosen({ tab: targetKey, request: { project: issue.project.fullPath, iid: String(issue.iid) } });
    loadGraph({ ...request, direction: 'BOTH', types: LINK_KINDS }, JSON.parse(headers))
      .then((graph) => {
        if (cancelled) return;
        cy = drawGraph(box, graph, {
          onSelect: (issue) => side.current.replaceChildren(issueDetails(issue, { onCentre: centre })),
          onOpen: centre,
        });
        fitToPane(cy, box, graph.start.project.fullPath);
        box.dataset.references = cy
          .nodes()
          .map((n) => n.data('issue').reference)
          .sort()
          .join(' ');
        box.dataset.state = 'ready';
        side.current.replaceChildren(summary(graph), issueDetails(graph.start));
      })
      .catch((e) => {
        if (cancelled) return;
        box.dataset.state = 'error';
        setError(e.message);
      });
    return () => {
      cancelled = true;
      cy?.destroy();
    };
  }, [request?.project, request?.iid, headers]); // eslint-disable-line react-hooks/exhaustive-deps

  const fullPage = request ? `/graphql/graph?${new URLSearchParams(request)}` : '/graphql/graph';
  return (
    <div className="ig-plugin">
      <div className="graphiql-doc-explorer-title">Dependency graph</div>
      {request ? null : (
        <p className="ig-plugin-none" role="status">
          No issue in this tab: its variables name no project and iid, and its query no{' '}
          <code>issue(project:, iid:)</code>. Open a tab such as “Issue links” or “Dependencies”, or
          draw one here.
        </p>
      )}
      <form
        className="ig-plugin-form"
        onSubmit={(event) => {
          event.preventDefault();
          const ref = issueRef(project, iid);
          if (ref) setChosen({ tab: targetKey, request: ref });
          else setError('give a project and an iid');
        }}
      >
        <input aria-label="project" placeholder="acme/platform" value={project} onChange={(e) => setProject(e.target.value)} />
        <input aria-label="iid" type="number" min="1" placeholder="iid" value={iid} onChange={(e) => setIid(e.target.value)} />
        <button type="submit" className="ig-button">Draw</button>
        <a href={fullPage} target="_blank" rel="noopener">
          full page
        </a>
      </form>
      {error ? <p className="ig-error">{error}</p> : null}
      <div ref={canvas} className="ig-plugin-canvas" hidden={!request} />
      <div ref={side} />
      <div ref={legendBox} />
    </div>
  );
}

export const graphPlugin = { title: 'Dependency graph', icon: GraphIcon, content: GraphPane };
