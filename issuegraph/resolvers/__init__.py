"""Query and mutation resolvers: thin, they call the domain and the loaders."""
