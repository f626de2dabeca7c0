// The playground's prefilled tabs: one working operation per capability, written against
// the demo data (`issuegraph seed --demo`, which `make serve` loads). acme/platform is
// PUBLIC, so the read-only tabs run without a token; mutations need one.

// An Authorization header still holding this text is never sent (tabs saved by an older
// playground carried it as a preset).
export const TOKEN_PLACEHOLDER = '<paste a token>';

const TOKEN_NOTE = `# Mutations need a token: paste one into "Sign in" at the top of the page (it is sent
# from every tab). Make one with \`.venv/bin/issuegraph tokens create alice\`; \`make serve\`
# prints a demo token for alice, owner of every demo project.`;

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
# canonical "acme/platform#6 blocks acme/platform#8" link. onConflict: RETURN_EXISTING
# makes it safe to run again: the existing link comes back with created: false (with
# ERROR, the default, a second run is a CONFLICT, reported as data in \`errors\`).
# The next two tabs change and delete this same link.
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
        targetProject: 'acme/platform',
        targetIssueIid: 6,
        linkType: 'IS_BLOCKED_BY',
        onConflict: 'RETURN_EXISTING',
        comment: 'Linked from the playground',
      },
    }),
  },
  {
    title: 'Update a link',
    query: `${TOKEN_NOTE}
#
# Change a link's type (every rule is checked again). A link is named by its two issues:
# there is at most one link between two issues. Root fields of a mutation run in order:
# this one makes sure the link of "Create a link" exists, makes it RELATES_TO, then turns
# it back into IS_BLOCKED_BY, so it can run again and again.
mutation UpdateLink($project: ID!, $iid: Int!, $targetProject: ID!, $targetIssueIid: Int!) {
  ensure: createIssueLink(input: {
    project: $project, iid: $iid, targetProject: $targetProject, targetIssueIid: $targetIssueIid
    linkType: IS_BLOCKED_BY, onConflict: RETURN_EXISTING
  }) {
    errors { code message path details }
    created
    linkType
  }
  relates: updateIssueLink(input: {
    project: $project, iid: $iid, targetProject: $targetProject, targetIssueIid: $targetIssueIid
    linkType: RELATES_TO
  }) {
    errors { code message path details }
    linkType
    link { databaseId linkType source { reference } target { reference } updatedBy { username } }
  }
  blocked: updateIssueLink(input: {
    project: $project, iid: $iid, targetProject: $targetProject, targetIssueIid: $targetIssueIid
    linkType: IS_BLOCKED_BY
  }) {
    errors { code message path details }
    linkType
    link { databaseId linkType source { reference } target { reference } }
  }
}
`,
    variables: vars({ project: 'acme/platform', iid: 8, targetProject: 'acme/platform', targetIssueIid: 6 }),
  },
  {
    title: 'Delete a link',
    query: `${TOKEN_NOTE}
#
# Remove a link through one of its issues, named by the other issue; the answer is what
# was deleted. Root fields of a mutation run in order: this one first makes sure the link
# of "Create a link" exists (RETURN_EXISTING), then deletes it, so it can run again.
mutation DeleteLink($project: ID!, $iid: Int!, $targetProject: ID!, $targetIssueIid: Int!) {
  ensure: createIssueLink(input: {
    project: $project, iid: $iid, targetProject: $targetProject, targetIssueIid: $targetIssueIid
    linkType: IS_BLOCKED_BY, onConflict: RETURN_EXISTING
  }) {
    errors { code message path details }
    created
  }
  deleteIssueLink(input: {
    project: $project, iid: $iid, targetProject: $targetProject, targetIssueIid: $targetIssueIid
  }) {
    errors { code message path details }
    linkType
    sourceIssue { reference }
    targetIssue { reference }
    link { databaseId }
  }
}
`,
    variables: vars({ project: 'acme/platform', iid: 8, targetProject: 'acme/platform', targetIssueIid: 6 }),
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
# To see one: open this playground in a second browser tab, run "Create a link" or
# "Delete a link" there, and come back here. Stay on this tab while you watch: switching
# tabs inside a playground stops its subscription.
#
# The token you signed in with (or this tab's own Authorization header, in the Headers
# tab below the editor) goes in the WebSocket's connection_init; sign in or out and run
# again to reconnect with the new one. Without a token you see only events whose issues
# are all public, and acme/platform#7 is confidential.
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
    query: `# What must happen before acme/platform#5, walked by the server: the transitive
# closure of its blockers, the open ones, a roll-up and the critical path (the longest
# chain of open blockers ending at it). The graph view draws this:
# /graphql/graph?project=acme/platform&iid=5
query Dependencies($project: ID!, $iid: Int!, $linkTypes: [LinkType!]) {
  issue(project: $project, iid: $iid) {
    reference
    title
    dependencies(direction: UPSTREAM, linkTypes: $linkTypes) {
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
    variables: vars({ project: 'acme/platform', iid: 5, linkTypes: ['BLOCKS'] }),
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
query Paths($linkTypes: [LinkType!]) {
  blocking: path(from: { project: "acme/platform", iid: 2 }, to: { project: "acme/platform", iid: 5 }) {
    length
    issues { reference title state }
    links { linkType source { reference } target { reference } }
  }
  connected: path(
    from: { project: "acme/platform", iid: 8 }
    to: { project: "acme/platform", iid: 5 }
    linkTypes: $linkTypes
    directed: false
  ) {
    length
    issues { reference }
    links { linkType source { reference } target { reference } }
  }
}
`,
    variables: vars({ linkTypes: ['RELATES_TO', 'PARENT_OF', 'BLOCKS'] }),
  },
];

export const DEFAULT_TABS = EXAMPLES.map(({ query, variables }) => ({
  query,
  variables: variables ?? null,
}));
