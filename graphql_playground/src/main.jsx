// The issuegraph playground: GraphiQL 5, bundled and served by the service itself.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './style.css';

import { explorerPlugin } from '@graphiql/plugin-explorer';
import { useGraphiQL } from '@graphiql/react';
import { GraphiQL } from 'graphiql';
import { useEffect } from 'react';
import { createRoot } from 'react-dom/client';

import { DEFAULT_TABS } from './examples.js';
import { fetcher } from './fetcher.js';
import { graphPlugin } from './graph/plugin.jsx';
import { SignInBar } from './signin.jsx';

// Own storage keys, versioned: new examples reach people who had opened an older playground.
const STORAGE_PREFIX = 'issuegraph-playground-v2:';
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

// Long lines (the examples' comments, a long answer) wrap at the editor's width.
const WRAPPED = { wordWrap: 'on', wrappingIndent: 'same' };

function WrapLines() {
  const editors = [
    useGraphiQL((state) => state.queryEditor),
    useGraphiQL((state) => state.variableEditor),
    useGraphiQL((state) => state.headerEditor),
    useGraphiQL((state) => state.responseEditor),
  ];
  useEffect(() => {
    for (const editor of editors) editor?.updateOptions(WRAPPED);
  }, editors); // eslint-disable-line react-hooks/exhaustive-deps
  return null;
}

function Playground() {
  return (
    <div className="ig-app">
      <SignInBar />
      <div className="ig-graphiql">
        <GraphiQL
          fetcher={fetcher}
          defaultTabs={DEFAULT_TABS}
          defaultEditorToolsVisibility="variables"
          plugins={plugins}
          storage={storage}
        >
          <GraphiQL.Logo>
            <span className="ig-logo">issuegraph</span>
          </GraphiQL.Logo>
          <GraphiQL.Footer>
            <div className="ig-footer">
              Dependency graph:{' '}
              <a href="/graphql/graph?project=acme/platform&amp;iid=5">/graphql/graph?project=acme/platform&amp;iid=5</a>
            </div>
          </GraphiQL.Footer>
          <WrapLines />
        </GraphiQL>
      </div>
    </div>
  );
}

createRoot(document.getElementById('root')).render(<Playground />);
