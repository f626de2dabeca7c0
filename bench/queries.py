"""The representative queries: what the frontends ask for most, and the deepest they nest.

The HTTP benchmark drives these, and `tests/test_statement_budget.py` pins how many SQL
statements each costs. Variables name the issue or project; the bench fills them from the
data set's report (the hub issue, the hub's project).
"""

from __future__ import annotations

from dataclasses import dataclass

_USER = "id username name avatarUrl webUrl"

_ISSUE = """
  id databaseId iid projectId title description state labels milestone dueDate
  confidential weight createdAt updatedAt closedAt
"""

ISSUE_PAGE = f"""
query IssuePage($project: ID!, $iid: Int!) {{
  issue(project: $project, iid: $iid) {{
    {_ISSUE}
    author {{ {_USER} }}
    assignees {{ {_USER} }}
    project {{ id fullPath name }}
    links(first: 100) {{
      pageInfo {{ hasNextPage endCursor }}
      edges {{
        linkType
        link {{ id databaseId }}
        node {{
          {_ISSUE}
          author {{ {_USER} }}
          assignees {{ {_USER} }}
          project {{ id fullPath name }}
        }}
      }}
    }}
  }}
}}
"""

PROJECT_PAGE = f"""
query ProjectPage($project: ID!) {{
  project(fullPath: $project) {{
    id fullPath name
    issues(first: 50) {{
      pageInfo {{ hasNextPage endCursor }}
      edges {{
        node {{
          {_ISSUE}
          author {{ {_USER} }}
          links(first: 20) {{
            edges {{ linkType node {{ id iid title state }} }}
          }}
          blockedBy(first: 20) {{
            edges {{ node {{ id iid title state }} }}
          }}
        }}
      }}
    }}
  }}
}}
"""

# Three levels of `links` below each of the project's issues; the deeper levels are
# narrower, as a frontend's expanding tree would be.
NESTED_LINKS = """
query NestedLinks($project: ID!) {
  project(fullPath: $project) {
    issues(first: 50) {
      edges {
        node {
          id iid title state
          links(first: 20) {
            edges {
              linkType
              node {
                id iid title state
                links(first: 5) {
                  edges {
                    linkType
                    node {
                      id iid title state
                      links(first: 5) {
                        edges { linkType node { id iid title state } }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True, slots=True)
class Representative:
    name: str
    query: str
    # "issue" takes {project, iid}; "project" takes {project}
    target: str


REPRESENTATIVE = (
    Representative("issue_page", ISSUE_PAGE, "issue"),
    Representative("project_page", PROJECT_PAGE, "project"),
    Representative("nested_links", NESTED_LINKS, "project"),
)
