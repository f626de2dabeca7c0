"""Root fields (Query, Mutation), a module per domain: thin, they find what the viewer may
read through `Access` and the loaders, and write through the domain's services.
`issuegraph.api` composes them into the Schema."""
