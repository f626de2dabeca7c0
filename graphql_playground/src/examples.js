// The playground's prefilled tabs: one working operation per capability, written against
// the demo data (`issuegraph seed --demo`, which `make serve` loads). acme/platform is
// PUBLIC, so the read-only tabs run without a token; mutations need one.

export const TOKEN_PLACEHOLDER = '<paste a token>';
export const DEFAULT_HEADERS = JSON.stringify(
  { Authorization: `Bearer ${TOKEN_PLACEHOLDER}` },
  null,
  2,
);

const TOKEN_NOTE = `# A token: run \`.venv/bin/issuegraph tokens create alice\` and paste it into the
# Authorization header (the Headers tab below the editor). While the header still says
# "${TOKEN_PLACEHOLDER}", the playground sends no Authorization header at all.`;

const vars = (value) => JSON.stringify(value, null, 2);

export const EXAMPLES = [
  {
    title: 'Issue links',
    query: `# An issue with its links, each read from this issue's side, oldest link first.
# acme/platform is PUBLIC: this runs without a token (with one, you also see links to
# acme/tools, which is INTERNAL). Press the run button (or Ctrl-Enter).
query IssueLinks {
  issue(project: "acme/platform", iid: 4) {
    reference
    title
    state
    isBlocked
    blockedByCount
    blockingCount
    parent { reference title }
    links(first: 20) {
      totalCount
      edges {
        linkType
        linkCreatedAt
        link { databaseId }
        node { reference title state }
      }
    }
  }
  issueLinkTypes { name outward inward linkType inverseLinkType }
}
`,
  },
  {
    title: 'Get a link',
    query: `# One link of an issue, as GitLab's GET /projects/:id/issues/:iid/links/:link_id shows it.
# linkId is the link's databaseId (as REST clients hold it) or its global id.
# On the demo data, link 5 is "acme/platform#3 blocks acme/platform#4".
query GetLink($linkId: ID!) {
  issueLink(project: "acme/platform", iid: 4, linkId: $linkId) {
    linkType
    sourceIssue { reference title }
    targetIssue { reference title }
    link { id databaseId createdAt author { username } updatedBy { username } }
  }
}
`,
    variables: vars({ linkId: '5' }),
  },
  {
    title: 'Create a link',
    query: `${TOKEN_NOTE}
#
# Link two issues. The type is read from the first issue: IS_BLOCKED_BY stores the
# canonical "acme/tools#2 blocks acme/platform#8" link. Note the databaseId in the answer:
# the next two tabs change and delete that link (it is 15 on a fresh demo database).
# Run it twice: the second time is a CONFLICT, reported as data in \`errors\`.
# With "Watch link events" running in another browser tab, the new link shows up there.
mutation CreateLink($input: CreateIssueLinkInput!) {
  createIssueLink(input: $input) {
    errors { code message path details }
    created
    linkType
    sourceIssue { reference }
    targetIssue { reference }
    link { databaseId linkType source { reference } target { reference } }
  }
}
`,
    variables: vars({
      input: {
        project: 'acme/platform',
        iid: 8,
        targetProject: 'acme/tools',
        targetIssueIid: 2,
        linkType: 'IS_BLOCKED_BY',
        comment: 'Linked from the playground',
      },
    }),
  },
  {
    title: 'Update a link',
    query: `${TOKEN_NOTE}
#
# Change a link's type (every rule is checked again). linkId: the databaseId that
# "Create a link" returned (15 on a fresh demo database).
mutation UpdateLink($input: UpdateIssueLinkInput!) {
  updateIssueLink(input: $input) {
    errors { code message path details }
    linkType
    link { databaseId linkType source { reference } target { reference } updatedBy { username } }
  }
}
`,
    variables: vars({
      input: { project: 'acme/platform', iid: 8, linkId: '15', linkType: 'RELATES_TO' },
    }),
  },
  {
    title: 'Delete a link',
    query: `${TOKEN_NOTE}
#
# Remove a link through one of its issues; the answer is what was deleted.
# linkId: the databaseId that "Create a link" returned (15 on a fresh demo database).
mutation DeleteLink($input: DeleteIssueLinkInput!) {
  deleteIssueLink(input: $input) {
    errors { code message path details }
    linkType
    sourceIssue { reference }
    targetIssue { reference }
    link { databaseId }
  }
}
`,
    variables: vars({ input: { project: 'acme/platform', iid: 8, linkId: '15' } }),
  },
  {
    title: 'Bulk create links',
    query: `${TOKEN_NOTE}
#
# Up to 100 links in one request: all of them, or none and every error.
# onConflict: RETURN_EXISTING makes it idempotent (Jira): run it again and each link
# comes back with created: false.
mutation BulkLinks($input: CreateIssueLinksInput!) {
  createIssueLinks(input: $input) {
    errors { code message path details }
    links {
      created
      linkType
      sourceIssue { reference title }
      targetIssue { reference title }
      link { databaseId }
    }
  }
}
`,
    variables: vars({
      input: {
        links: [
          {
            project: 'acme/tools',
            iid: 1,
            targetProject: 'acme/platform',
            targetIssueIid: 5,
            linkType: 'RELATES_TO',
            onConflict: 'RETURN_EXISTING',
          },
          {
            project: 'acme/platform',
            iid: 3,
            targetProject: 'acme/tools',
            targetIssueIid: 2,
            linkType: 'BLOCKS',
            onConflict: 'RETURN_EXISTING',
          },
        ],
      },
    }),
  },
  {
    title: 'Watch link events',
    query: `# Link events as they happen, pushed over a WebSocket to this same /graphql URL
# (graphql-transport-ws). Press the run button: the response stays empty until a link of
# acme/platform is created, changed or deleted, then shows each event as it arrives. The
# same button (now a stop button) ends the subscription.
#
# To see one: open this playground in a second browser tab, run "Create a link" there
# (with a token), and come back here. Stay on this tab while you watch: switching tabs
# inside a playground stops its subscription.
#
# The token of this tab's Authorization header (the Headers tab below the editor) goes in
# the WebSocket's connection_init; change it and run again to reconnect with the new one.
# Without a token you see only events whose issues are all public: "Create a link" links
# acme/platform#8 to acme/tools#2 (INTERNAL), so watch with a token
# (\`.venv/bin/issuegraph tokens create alice\`) to see it.
#
# after: null starts from now. To resume later without missing anything, put the cursor
# of the last event you saw into the variables and run again. (When the connection drops,
# the playground reconnects and does that by itself.)
subscription WatchLinkEvents($after: String) {
  issueLinkEvents(project: "acme/platform", after: $after) {
    cursor
    kind
    occurredAt
    actor { username }
    link { linkType source { reference } target { reference } }
    changes { field before after }
  }
}
`,
    variables: vars({ after: null }),
  },
  {
    title: 'Dependencies',
    query: `# What must happen before acme/platform#5, walked in PostgreSQL: the transitive
# closure of its blockers, the open ones, a roll-up and the critical path (the longest
# chain of open blockers ending at it). The graph view draws this:
# /graphql/graph?project=acme/platform&iid=5
query Dependencies {
  issue(project: "acme/platform", iid: 5) {
    reference
    title
    dependencies(direction: UPSTREAM, linkTypes: [BLOCKS]) {
      depthReached
      truncated
      nodes { distance issue { reference title state } }
      edges { linkType source { reference } target { reference } }
    }
    openBlockers { reference title }
    blockerRollup { total open completed percentCompleted }
    criticalPath { issueCount totalWeight issues { reference title weight } }
    weighted: criticalPath(weighted: true) { totalWeight issues { reference } }
  }
  epic: issue(project: "acme/platform", iid: 1) {
    reference
    childrenRollup { total open completed percentCompleted }
    children { nodes { reference title state } }
  }
}
`,
  },
  {
    title: 'Ready issues',
    query: `# Open issues of a project with no open blocker the viewer may read: work that can start.
query ReadyIssues {
  project(fullPath: "acme/platform") {
    fullPath
    readyIssues(first: 20) {
      totalCount
      nodes { reference title labels weight assignees { username } }
    }
  }
}
`,
  },
  {
    title: 'Dependency order',
    query: `# The project's open issues and their open blockers (in any project the viewer may
# read), each after everything that blocks it; ties by iid.
query DependencyOrder {
  project(fullPath: "acme/platform") {
    dependencyOrder(first: 50) {
      totalCount
      nodes { reference title isBlocked blockedBy { nodes { reference } } }
    }
  }
}
`,
  },
  {
    title: 'Path',
    query: `# A shortest chain of links between two issues. Directed, over BLOCKS links (the
# default): how acme/platform#2 ends up blocking #5. Undirected, over more kinds: how
# the docs issue #8 is connected to #5.
query Paths {
  blocking: path(from: { project: "acme/platform", iid: 2 }, to: { project: "acme/platform", iid: 5 }) {
    length
    issues { reference title state }
    links { linkType source { reference } target { reference } }
  }
  connected: path(
    from: { project: "acme/platform", iid: 8 }
    to: { project: "acme/platform", iid: 5 }
    linkTypes: [RELATES_TO, PARENT_OF, BLOCKS]
    directed: false
  ) {
    length
    issues { reference }
    links { linkType source { reference } target { reference } }
  }
}
`,
  },
];

export const DEFAULT_TABS = EXAMPLES.map(({ query, variables }) => ({
  query,
  variables: variables ?? null,
  headers: DEFAULT_HEADERS,
}));
