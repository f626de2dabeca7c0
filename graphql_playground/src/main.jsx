// The issuegraph playground: GraphiQL 5, bundled and served by the service itself.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './style.css';

import { explorerPlugin } from '@graphiql/plugin-explorer';
import { GraphiQL } from 'graphiql';
import { createRoot } from 'react-dom/client';

import { DEFAULT_HEADERS, DEFAULT_TABS } from './examples.js';
import { fetcher } from './fetcher.js';
import { graphPlugin } from './graph/plugin.jsx';

// Own storage keys, versioned: new examples reach people who had opened an older playground.
const STORAGE_PREFIX = 'issuegraph-playground-v1:';
const storage = {
  getItem: (key) => localStorage.getItem(STORAGE_PREFIX + key),
  setItem: (key, value) => localStorage.setItem(STORAGE_PREFIX + key, value),
  removeItem: (key) => localStorage.removeItem(STORAGE_PREFIX + key),
  clear: () => {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith(STORAGE_PREFIX)) localStorage.removeItem(key);
    }
  },
  get length() {
    return Object.keys(localStorage).filter((k) => k.startsWith(STORAGE_PREFIX)).length;
  },
};

const plugins = [explorerPlugin(), graphPlugin];

function Playground() {
  return (
    <GraphiQL
      fetcher={fetcher}
      defaultTabs={DEFAULT_TABS}
      defaultHeaders={DEFAULT_HEADERS}
      defaultEditorToolsVisibility="headers"
      plugins={plugins}
      storage={storage}
    >
      <GraphiQL.Logo>
        <span className="ig-logo">issuegraph</span>
      </GraphiQL.Logo>
      <GraphiQL.Footer>
        <div className="ig-footer">
          Token for mutations and non-public projects: <code>.venv/bin/issuegraph tokens create alice</code>, then
          paste it into the Authorization header. Dependency graph:{' '}
          <a href="/graphql/graph?project=acme/platform&amp;iid=5">/graphql/graph?project=acme/platform&amp;iid=5</a>
        </div>
      </GraphiQL.Footer>
    </GraphiQL>
  );
}

createRoot(document.getElementById('root')).render(<Playground />);
