import { resolve } from 'node:path';

import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by issuegraph under /graphql: index.html at /graphql, graph.html at /graphql/graph,
// everything else (scripts, the Monaco editor workers, fonts, styles) at /graphql/assets/.
export default defineConfig({
  base: '/graphql/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No data: URLs for fonts or images: every asset is a file of this origin.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 8000,
    rolldownOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        graph: resolve(import.meta.dirname, 'graph.html'),
      },
      // React Compiler output in GraphiQL carries "use no memo" directives, harmless here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});
