// A GraphiQL plugin (a sidebar pane) that draws an issue's dependency graph with the
// headers of the active tab, so a pasted token shows the private parts too.
import { useGraphiQL } from '@graphiql/react';
import { useEffect, useRef, useState } from 'react';

import { cleanHeaders, parseHeaders } from '../fetcher.js';
import { LINK_KINDS, drawGraph, issueDetails, legend, loadGraph, summary } from './graph.js';

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

function GraphPane() {
  const headersText = useGraphiQL((state) => state.tabs[state.activeTabIndex]?.headers ?? '');
  // Redraw when the headers that would be sent change, not on every keystroke in the editor.
  const headers = JSON.stringify(cleanHeaders(parseHeaders(headersText)));
  const [project, setProject] = useState('acme/platform');
  const [iid, setIid] = useState('5');
  const [request, setRequest] = useState({ project: 'acme/platform', iid: '5' });
  const [error, setError] = useState('');
  const canvas = useRef(null);
  const side = useRef(null);
  const legendBox = useRef(null);

  useEffect(() => legendBox.current.replaceChildren(legend()), []);

  useEffect(() => {
    let cy = null;
    let cancelled = false;
    const centre = (issue) => {
      setProject(issue.project.fullPath);
      setIid(String(issue.iid));
      setRequest({ project: issue.project.fullPath, iid: String(issue.iid) });
    };
    loadGraph({ ...request, direction: 'BOTH', types: LINK_KINDS }, JSON.parse(headers))
      .then((graph) => {
        if (cancelled) return;
        setError('');
        cy = drawGraph(canvas.current, graph, {
          onSelect: (issue) => side.current.replaceChildren(issueDetails(issue, { onCentre: centre })),
          onOpen: centre,
        });
        side.current.replaceChildren(summary(graph), issueDetails(graph.start));
      })
      .catch((e) => {
        if (cancelled) return;
        setError(e.message);
        side.current.replaceChildren();
      });
    return () => {
      cancelled = true;
      cy?.destroy();
    };
  }, [request, headers]);

  const fullPage = `/graphql/graph?${new URLSearchParams(request)}`;
  return (
    <div className="ig-plugin">
      <div className="graphiql-doc-explorer-title">Dependency graph</div>
      <form
        className="ig-plugin-form"
        onSubmit={(event) => {
          event.preventDefault();
          setRequest({ project: project.trim(), iid: iid.trim() });
        }}
      >
        <input aria-label="project" value={project} onChange={(e) => setProject(e.target.value)} />
        <input aria-label="iid" type="number" min="1" value={iid} onChange={(e) => setIid(e.target.value)} />
        <button type="submit" className="ig-button">Draw</button>
        <a href={fullPage} target="_blank" rel="noopener">
          full page
        </a>
      </form>
      {error ? <p className="ig-error">{error}</p> : null}
      <div ref={canvas} className="ig-plugin-canvas" />
      <div ref={side} />
      <div ref={legendBox} />
    </div>
  );
}

export const graphPlugin = { title: 'Dependency graph', icon: GraphIcon, content: GraphPane };
