"""The benchmark data generator: a large, realistic data set in the service's own database.

    python -m bench.generate                  # 100,000 issues, 300,000 links
    python -m bench.generate --large --reset  # 1,000,000 issues, 3,000,000 links

It finds the database the way the service does (`DATABASE_URL`, else the embedded server in
`ISSUEGRAPH_DATA_DIR`, migrated on the way), or takes `--dsn`. Every row is generated with
numpy (vectorised: the Python per-row work is only asyncpg's encoding) and loaded by binary
COPY in one transaction, so a failed run leaves the database as it was.

The links respect every rule the service enforces, by construction: one link per pair of
issues, no self-links, `blocks` links only from a lower to a higher position of one random
global order (so they form a DAG), `parent` links a forest (one parent, at most 8 levels).
The database's cycle/depth trigger is disabled during the load (it would run a graph search
per row) and the unique indexes are rebuilt afterwards, which checks the pairs again.

Two named structures serve the benchmarks:
- the "deep" structure: 51 layers of ~216 issues, each issue of layer k+1 blocked by ~3
  issues of layer k; the "deep root" (an issue of the last layer) has an upstream `blocks`
  closure of about 10,000 issues, 50 levels deep;
- the "hub": an issue with exactly 100 links to issues of several projects.

At the end it writes `bench/results/dataset.json` (what was made, how long each phase took,
where the deep root and the hub are, and fresh `api` tokens for `bench-admin` and
`bench-user`) and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import numpy as np

from issuegraph.config import Settings
from issuegraph.db.database import open_database
from issuegraph.db.migrate import migrate
from issuegraph.domain.auth import create_token
from issuegraph.models import TokenScope

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence

try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - the `bench` extra installs it; run without bars
    tqdm = None

DEFAULT_ISSUES = 100_000
DEFAULT_LINKS = 300_000
LARGE_ISSUES = 1_000_000
LARGE_LINKS = 3_000_000
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "dataset.json"

ADMIN_USERNAME = "bench-admin"
USER_USERNAME = "bench-user"
TRIGGER = "issue_links_no_cycle"
# The triggers that note changes for the servers' in-memory graph (migration 0007): a bulk
# load is read whole by the servers started after it, so it skips them (one row per loaded
# issue and link otherwise). A server already running must be restarted after a load.
GRAPH_TRIGGERS = (
    ("issues", "graph_changes_issues_insert"),
    ("issue_assignees", "graph_changes_assignees_insert"),
    ("issue_links", "graph_changes_links_insert"),
)

# The tables this generator fills (and `--reset` empties), in load order.
DATA_TABLES = (
    "users",
    "personal_access_tokens",
    "projects",
    "project_members",
    "issues",
    "issue_assignees",
    "notes",
    "issue_links",
    # The change log of what the generator replaces (a load writes no events of its own).
    "events",
)
LOADED_TABLES = ("users", "projects", "project_members", "issues", "issue_assignees", "issue_links")
IDENTITY_TABLES = ("users", "projects", "issues", "issue_links")

# Every timestamp is relative to one fixed instant, so one seed always makes the same rows.
ANCHOR = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
YEAR_US = 365 * DAY_US
ANCHOR_US = (ANCHOR - PG_EPOCH) // dt.timedelta(microseconds=1)

LINK_TYPES = np.array(["relates", "blocks", "duplicates", "parent", "clones"], dtype=object)
RELATES, BLOCKS, DUPLICATES, PARENT, CLONES = range(5)
VISIBILITIES = np.array(["public", "internal", "private"], dtype=object)
PUBLIC, INTERNAL, PRIVATE = range(3)
ROLES = np.array(["guest", "reporter", "developer", "maintainer", "owner"], dtype=object)
GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = range(5)

DEEP_LAYERS = 51  # the deep root sits in the last one, 50 `blocks` links below layer 0
DEEP_WIDTH = 216  # ~10,000 issues upstream of the deep root (50 layers, almost all covered)
DEEP_PARENTS = 3
HUB_LINKS = 100
MAX_PARENT_DEPTH = 8

# fmt: off
FIRST_NAMES = [
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Karl",
    "Laura", "Mallory", "Niaj", "Olivia", "Peggy", "Quentin", "Rupert", "Sybil", "Trent",
    "Uma", "Victor", "Wendy", "Xavier", "Yara", "Zoe", "Amir", "Bea", "Chen", "Dmitri", "Elif",
    "Fatima", "Goran", "Hana", "Ines", "Jonas", "Kenji", "Lena", "Mateo", "Noor", "Oskar",
    "Priya", "Rosa", "Sven", "Tariq", "Yuki",
]
LAST_NAMES = [
    "Archer", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Smith",
    "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zimmermann", "Andersson", "Novak",
    "Silva", "Kim", "Haddad", "Oliveira", "Schmidt", "Murphy", "Dubois", "Horvat",
]
NAMESPACES = [
    "northwind", "globex", "initech", "hooli", "umbrella", "stark-industries",
    "wayne-enterprises", "cyberdyne", "soylent", "tyrell",
]
SUBGROUPS = ["backend", "frontend", "infra", "data", "mobile", "platform", "security", "qa"]
PROJECT_NAMES = [
    "api", "web", "gateway", "billing", "auth", "search", "indexer", "scheduler",
    "notifications", "mobile-app", "docs", "cli", "sdk", "runner", "registry", "analytics",
    "dashboard", "importer", "exporter", "worker", "design-system", "payments", "identity",
    "storage", "metrics", "alerts", "deploy", "config", "chat", "reports",
]
TITLE_VERBS = [
    "Fix", "Add", "Remove", "Refactor", "Improve", "Investigate", "Document", "Update",
    "Migrate", "Speed up", "Support", "Deprecate", "Handle errors in", "Test", "Clean up",
    "Implement", "Expose", "Validate", "Cache", "Log",
]
TITLE_OBJECTS = [
    "login redirect", "rate limiter", "search index", "CSV export", "webhook retries",
    "password reset email", "dark mode toggle", "pagination cursor", "merge request widget",
    "audit log", "API token expiry", "notification settings", "file upload",
    "billing invoice PDF", "SSO callback", "GraphQL complexity limit", "issue board drag and drop",
    "label filter", "timezone handling", "database migration", "background job queue",
    "cache invalidation", "user avatar", "project import", "release notes", "access check",
    "dependency graph", "mobile layout", "error page", "health check endpoint",
    "metrics dashboard", "retry policy", "connection pool", "feature flag", "email digest",
    "locale fallback", "session timeout", "permission matrix", "CI pipeline", "Docker image",
]
TITLE_CONTEXTS = [
    "", "", "", "", "in the API", "for large projects", "on mobile", "when the cache is cold",
    "after the upgrade", "for guest users", "in Safari", "under load", "for archived projects",
    "in the admin area", "behind a proxy", "with SSO enabled", "on first login",
]
SENTENCES = [
    "This happens on every page load for some users.",
    "We saw it in production after the last deploy.",
    "Customers report it through support about twice a week.",
    "The logs show a timeout from the upstream service.",
    "It only reproduces with more than a thousand items.",
    "A workaround is to reload the page.",
    "The fix probably belongs in the shared client library.",
    "We should add a regression test once this is fixed.",
    "See the linked issues for the discussion so far.",
    "The current behaviour contradicts the documentation.",
    "Performance degrades linearly with the number of projects.",
    "This blocks the next release candidate.",
    "Design review is done; implementation can start.",
    "The metrics dashboard shows a spike at the same time.",
    "Nobody owns this code path at the moment.",
    "It is not clear whether this is a bug or a missing feature.",
]
STEPS = [
    "Open the project page", "Sign in as a guest user", "Create a new issue",
    "Add two labels", "Reload the page", "Export the list as CSV", "Switch to dark mode",
    "Wait five minutes",
]
LABELS = [
    "bug", "feature", "enhancement", "documentation", "security", "performance", "backend",
    "frontend", "database", "api", "ux", "tech-debt", "regression", "customer",
    "priority::1", "priority::2", "priority::3", "severity::1", "severity::2", "severity::3",
    "workflow::ready", "workflow::in dev", "workflow::in review", "good first issue",
    "help wanted", "needs investigation", "accessibility", "i18n", "flaky test", "backstage",
]
MILESTONES = [f"v{major}.{minor}" for major in range(1, 4) for minor in range(10)] + ["Backlog"]
# fmt: on


@dataclass(slots=True)
class Options:
    issues: int = DEFAULT_ISSUES
    links: int = DEFAULT_LINKS
    seed: int = 1
    reset: bool = False
    # A PostgreSQL URL to load into; None: the service's own database (DATABASE_URL or embedded).
    dsn: str | None = None
    # Where to write the report; None writes nowhere.
    output: Path | None = DEFAULT_OUTPUT
    progress: bool = True
    users: int = 1000
    projects: int = 200
    batch_size: int = 50_000
    # What to drop before the load and rebuild after it: "none", "nonunique" (the plain
    # indexes), or "all" (every index but primary keys, unique constraints and foreign keys
    # too; rebuilding them validates the data in one pass each). Measured: see bench/README.md.
    defer: str = "all"
    # VACUUM (ANALYZE) after the load rather than only ANALYZE: sets hint bits and the
    # visibility map now, so neither the first benchmark run nor autovacuum pays for it.
    vacuum: bool = True


# --------------------------------------------------------------------------------------------
# Generation: numpy arrays in "index space" (issue i of 0..N-1, ordered by project then iid)


@dataclass(slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    # One entry per column: a numpy array (turned into Python objects batch by batch) or a list.
    data: list[Any]
    rows: int


@dataclass(slots=True)
class Dataset:
    tables: list[Table]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Base:
    """What the database already holds: identity offsets and names not to reuse."""

    user_id: int = 0
    project_id: int = 0
    issue_id: int = 0
    link_id: int = 0
    usernames: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)


def _objects(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """An object array holding `values` where `present`, else None (SQL NULL)."""
    out = np.full(len(values), None, dtype=object)
    out[present] = values[present].astype(object) if values.dtype != object else values[present]
    return out


def _pick(rng: np.random.Generator, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """One uniformly random position in [start, start + size) for each pair."""
    return starts + (rng.random(len(starts)) * sizes).astype(np.int64)


class Members:
    """Project members, grouped by project, to draw authors and assignees from."""

    def __init__(self, project: np.ndarray, user: np.ndarray, n_projects: int) -> None:
        order = np.argsort(project, kind="stable")
        self.project = project[order]
        self.user = user[order]
        self.count = np.bincount(self.project, minlength=n_projects)
        self.start = np.concatenate(([0], np.cumsum(self.count)[:-1]))

    def draw(self, rng: np.random.Generator, projects: np.ndarray) -> np.ndarray:
        """A random member (user index) of each given project."""
        return self.user[_pick(rng, self.start[projects], self.count[projects])]


def _text_pools(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    titles = [
        f"{verb} {obj} {context}".strip()
        for verb in TITLE_VERBS
        for obj in TITLE_OBJECTS
        for context in TITLE_CONTEXTS
    ]
    descriptions = []
    for _ in range(2000):
        k = int(rng.integers(1, 5))
        text = " ".join(SENTENCES[j] for j in rng.choice(len(SENTENCES), k, replace=False))
        if rng.random() < 0.3:
            steps = rng.choice(len(STEPS), int(rng.integers(2, 5)), replace=False)
            text += "\n\n### Steps to reproduce\n\n" + "\n".join(
                f"{n}. {STEPS[s]}" for n, s in enumerate(steps, 1)
            )
        descriptions.append(text)
    label_sets: list[list[str]] = [[]]  # index 0: no labels
    weights = np.linspace(2.0, 0.5, len(LABELS))
    weights /= weights.sum()
    for _ in range(4000):
        k = int(rng.choice([1, 1, 2, 2, 3, 4]))
        label_sets.append([LABELS[j] for j in rng.choice(len(LABELS), k, replace=False, p=weights)])
    label_pool = np.empty(len(label_sets), dtype=object)
    for k, labels in enumerate(label_sets):  # element by element: numpy would make it 2-D
        label_pool[k] = labels
    return np.array(titles, dtype=object), np.array(descriptions, dtype=object), label_pool


def _users(rng: np.random.Generator, n: int, base: Base) -> tuple[Table, np.ndarray]:
    usernames = [ADMIN_USERNAME, USER_USERNAME]
    names = ["Bench Admin", "Bench User"]
    seen = {u.lower() for u in usernames} | base.usernames
    while len(usernames) < n:
        first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
        last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
        stem = f"{first}.{last}".lower()
        candidate, k = stem, 1
        while candidate in seen:
            k += 1
            candidate = f"{stem}{k}"
        seen.add(candidate)
        usernames.append(candidate)
        names.append(f"{first} {last}")
    blocked = rng.random(n) < 0.02
    blocked[:2] = False
    has_avatar = rng.random(n) < 0.6
    avatars = np.array(
        [
            f"https://secure.gravatar.com/avatar/{hashlib.md5(u.encode()).hexdigest()}?s=80"  # noqa: S324
            for u in usernames
        ],
        dtype=object,
    )
    is_admin = np.zeros(n, dtype=bool)
    is_admin[0] = True
    created = ANCHOR_US - (rng.uniform(1.0, 7.0, n) * YEAR_US).astype(np.int64)
    ids = base.user_id + 1 + np.arange(n, dtype=np.int64)
    state = np.where(blocked, "blocked", "active").astype(object)
    table = Table(
        "users",
        ("id", "username", "name", "state", "avatar_url", "is_admin", "created_at"),
        [ids, usernames, names, state, _objects(avatars, has_avatar), is_admin, created],
        n,
    )
    return table, np.flatnonzero(~blocked)


def _projects(
    rng: np.random.Generator, n: int, issue_counts: np.ndarray, base: Base
) -> tuple[Table, np.ndarray, np.ndarray, list[str]]:
    paths: list[str] = []
    seen = set(base.paths)
    attempts = 0
    while len(paths) < n:
        attempts += 1
        ns = NAMESPACES[int(rng.integers(len(NAMESPACES)))]
        name = PROJECT_NAMES[int(rng.integers(len(PROJECT_NAMES)))]
        parts = [ns, name]
        if rng.random() < 0.35:
            parts.insert(1, SUBGROUPS[int(rng.integers(len(SUBGROUPS)))])
        if attempts > 20 * n:  # the name space is exhausted: number the rest
            parts[-1] = f"{name}-{attempts}"
        path = "/".join(parts)
        if path.lower() not in seen:
            seen.add(path.lower())
            paths.append(path)
    visibility = rng.choice(3, size=n, p=[0.75, 0.15, 0.10])
    if n >= 3:
        if not (visibility == INTERNAL).any():
            visibility[1] = INTERNAL
        if not (visibility == PRIVATE).any():
            visibility[2] = PRIVATE
    names = [p.rsplit("/", 1)[1].replace("-", " ").title() for p in paths]
    descriptions = np.array([f"The {name} project." for name in names], dtype=object)
    created = ANCHOR_US - (rng.uniform(0.3, 6.0, n) * YEAR_US).astype(np.int64)
    ids = base.project_id + 1 + np.arange(n, dtype=np.int64)
    table = Table(
        "projects",
        (
            "id",
            "full_path",
            "name",
            "description",
            "visibility",
            "last_issue_iid",
            "created_at",
            "updated_at",
        ),
        [
            ids,
            paths,
            names,
            _objects(descriptions, rng.random(n) < 0.7),
            VISIBILITIES[visibility],
            issue_counts,
            created,
            np.full(n, ANCHOR_US, dtype=np.int64),
        ],
        n,
    )
    return table, visibility, created, paths


def _members(
    rng: np.random.Generator, n_projects: int, active: np.ndarray, visibility: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(project, user, role) of every membership, plus the projects bench-user is in."""
    regular = active[active >= 2]  # neither bench-admin (0) nor bench-user (1)
    sizes = np.clip(np.rint(rng.lognormal(math.log(12), 0.6, n_projects)), 3, 80).astype(int)
    sizes = np.minimum(sizes, len(regular))
    projects, users, roles = [], [], []
    for p in range(n_projects):
        chosen = rng.choice(regular, sizes[p], replace=False)
        role = rng.choice(
            [GUEST, REPORTER, DEVELOPER, MAINTAINER], size=sizes[p], p=[0.2, 0.25, 0.45, 0.1]
        )
        role[0] = OWNER
        projects.append(np.full(sizes[p], p))
        users.append(chosen)
        roles.append(role)
    # bench-user: a member of about a quarter of the projects, of some private ones but not
    # all, so that what it may read differs from what an admin or anonymous user may.
    mine = rng.random(n_projects) < 0.25
    private = np.flatnonzero(visibility == PRIVATE)
    if len(private) >= 2:
        mine[private[0]] = True
        mine[private[1]] = False
    bench_projects = np.flatnonzero(mine)
    projects.append(bench_projects)
    users.append(np.ones(len(bench_projects), dtype=np.int64))
    roles.append(
        rng.choice([GUEST, REPORTER, DEVELOPER, MAINTAINER], size=len(bench_projects)),
    )
    return (
        np.concatenate(projects).astype(np.int64),
        np.concatenate(users).astype(np.int64),
        np.concatenate(roles).astype(np.int64),
        bench_projects,
    )


@dataclass(slots=True)
class IssueSpace:
    n: int
    proj: np.ndarray  # project index of each issue
    pstart: np.ndarray  # first issue index of each project
    pcount: np.ndarray  # issues per project
    created: np.ndarray  # microseconds since 2000-01-01 UTC
    closed: np.ndarray
    confidential: np.ndarray


def _deep_structure(
    rng: np.random.Generator, members: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    """Layered blocks edges over `members` (DEEP_LAYERS x width issue indices).

    Returns (sources, targets, root, closure size, depth); the root is the issue of the last
    layer with the largest upstream closure.
    """
    layers = rng.permutation(members).reshape(DEEP_LAYERS, width)
    sources, targets = [], []
    reach = np.eye(width, dtype=np.float32)  # rows: last-layer issues; columns: this layer
    closure = np.zeros(width, dtype=np.int64)
    adjacency = []
    for k in range(1, DEEP_LAYERS):
        # Each issue j of layer k is blocked by DEEP_PARENTS issues of layer k-1, drawn from
        # as many random permutations, so every issue of layer k-1 also blocks ~3 of layer k.
        parents = np.stack([rng.permutation(width) for _ in range(DEEP_PARENTS)], axis=1)
        a = np.zeros((width, width), dtype=np.float32)
        a[np.repeat(np.arange(width), DEEP_PARENTS), parents.ravel()] = 1.0
        adjacency.append(a)
        j, i = np.nonzero(a)
        sources.append(layers[k - 1][i])
        targets.append(layers[k][j])
    for k in range(DEEP_LAYERS - 1, 0, -1):
        reach = ((reach @ adjacency[k - 1]) > 0).astype(np.float32)
        closure += reach.sum(axis=1).astype(np.int64)
    best = int(np.argmax(closure))
    depth = DEEP_LAYERS - 1 if reach[best].any() else 0
    return (
        np.concatenate(sources),
        np.concatenate(targets),
        int(layers[-1][best]),
        int(closure[best]),
        depth,
    )


def _parent_forest(
    rng: np.random.Generator, space: IssueSpace, fraction: float, excluded: int
) -> np.ndarray:
    """parent[i] = index of issue i's parent, or -1: a forest at most 8 levels deep.

    Each child gets a level 1..8 and a parent of the level above in its own project, so no
    chain of parent links is longer than 8. Parents are a few "epics" per level, not spread
    evenly, so some issues have many children.
    """
    level = np.zeros(space.n, dtype=np.int64)
    child = rng.random(space.n) < fraction
    weights = 0.45 ** np.arange(MAX_PARENT_DEPTH)
    level[child] = 1 + rng.choice(
        MAX_PARENT_DEPTH, size=int(child.sum()), p=weights / weights.sum()
    )
    level[excluded] = -1  # neither parent nor child
    parent = np.full(space.n, -1, dtype=np.int64)
    for p in np.flatnonzero(space.pcount >= 2):
        s = int(space.pstart[p])
        lv = level[s : s + int(space.pcount[p])]  # a view: fixes below write through
        for depth in range(1, MAX_PARENT_DEPTH + 1):
            kids = np.flatnonzero(lv == depth)
            if len(kids) == 0:
                continue
            candidates = np.flatnonzero(lv == depth - 1)
            if len(candidates) == 0:
                lv[kids] = 0
                continue
            n_epics = min(len(candidates), max(1, len(kids) // 3))
            epics = rng.choice(candidates, n_epics, replace=False)
            parent[s + kids] = s + epics[rng.integers(n_epics, size=len(kids))]
    return parent


@dataclass(slots=True)
class LinkContext:
    space: IssueSpace
    cstart: np.ndarray  # clusters: runs of neighbouring issues (by iid) in one project
    csize: np.ndarray
    cluster: np.ndarray
    rank: np.ndarray  # the global order `blocks` links follow
    deep: np.ndarray  # mask: issues of the deep structure (no random `blocks` there)
    hub: int


def _clusters(rng: np.random.Generator, space: IssueSpace) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.clip(np.rint(rng.lognormal(2.3, 0.9, space.n // 2 + 10)), 2, 500).astype(np.int64)
    bounds = np.cumsum(sizes)
    starts = np.union1d(
        np.concatenate(([0], bounds[bounds < space.n])), space.pstart[space.pcount > 0]
    )
    return starts, np.diff(np.append(starts, space.n))


def _random_links(
    rng: np.random.Generator, ctx: LinkContext, m: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """About m candidate links: mostly between neighbours of a project, some across."""
    sp = ctx.space
    src = rng.integers(sp.n - 1, size=m)
    src += src >= ctx.hub  # never the hub: it has exactly its own HUB_LINKS links
    kind = rng.random(m)
    cl = ctx.cluster[src]
    p = sp.proj[src]
    dst = np.where(
        kind < 0.72,
        _pick(rng, ctx.cstart[cl], ctx.csize[cl]),
        np.where(kind < 0.9, _pick(rng, sp.pstart[p], sp.pcount[p]), rng.integers(sp.n, size=m)),
    )
    keep = (dst != src) & (dst != ctx.hub)
    src, dst, kind = src[keep], dst[keep], kind[keep]
    near = kind < 0.72
    u = rng.random(len(src))
    # Neighbours block each other often; links across projects are mostly "relates".
    typ = np.where(
        near,
        np.select([u < 0.40, u < 0.85, u < 0.94], [RELATES, BLOCKS, DUPLICATES], CLONES),
        np.select([u < 0.75, u < 0.80, u < 0.92], [RELATES, BLOCKS, DUPLICATES], CLONES),
    ).astype(np.int8)
    typ[(typ == BLOCKS) & (ctx.deep[src] | ctx.deep[dst])] = RELATES
    src, dst = _orient(ctx, src, dst, typ)
    return src, dst, typ


def _orient(
    ctx: LinkContext, src: np.ndarray, dst: np.ndarray, typ: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical direction: blockers first in the global order (a DAG), the closed issue
    duplicates the open one, the newer issue clones the older one."""
    sp = ctx.space
    swap = (
        ((typ == BLOCKS) & (ctx.rank[src] > ctx.rank[dst]))
        | ((typ == DUPLICATES) & ~sp.closed[src] & sp.closed[dst])
        | ((typ == CLONES) & (sp.created[src] < sp.created[dst]))
    )
    return np.where(swap, dst, src), np.where(swap, src, dst)


def _pair_keys(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    return np.minimum(src, dst) * n + np.maximum(src, dst)


def _first_unique(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each key, in their original order."""
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def _hub_links(
    rng: np.random.Generator, ctx: LinkContext, parent: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """HUB_LINKS links from the hub to issues of several projects, of every type."""
    sp = ctx.space
    eligible = np.ones(sp.n, dtype=bool)
    eligible[ctx.hub] = False
    eligible &= ~ctx.deep
    chosen: list[np.ndarray] = []
    total = 0
    for p in rng.permutation(len(sp.pcount)):
        if total >= HUB_LINKS:
            break
        s, c = int(sp.pstart[p]), int(sp.pcount[p])
        pool = s + np.flatnonzero(eligible[s : s + c])
        if len(pool) == 0:
            continue
        take = rng.choice(pool, min(len(pool), 12, HUB_LINKS - total), replace=False)
        chosen.append(take)
        total += len(take)
    if total < HUB_LINKS:
        raise ValueError(f"too few issues for a hub with {HUB_LINKS} links")
    partners = rng.permutation(np.concatenate(chosen))
    # Children of the hub: partners outside the parent forest (neither parent nor child).
    has_children = np.zeros(sp.n, dtype=bool)
    has_children[parent[parent >= 0]] = True
    free = (parent[partners] < 0) & ~has_children[partners]
    typ = np.full(HUB_LINKS, RELATES, dtype=np.int8)
    free_positions = np.flatnonzero(free)[:10]
    typ[free_positions] = PARENT
    rest = np.flatnonzero(typ != PARENT)
    plan = [BLOCKS] * 26 + [DUPLICATES] * 14 + [CLONES] * 10
    typ[rest[: len(plan)]] = plan[: len(rest)]
    hub = np.full(HUB_LINKS, ctx.hub, dtype=np.int64)
    # Half of the undirected types point to the hub, half away from it.
    away = (np.arange(HUB_LINKS) % 2 == 0) | (typ == PARENT)
    src = np.where(away, hub, partners)
    dst = np.where(away, partners, hub)
    blocks = typ == BLOCKS
    src[blocks], dst[blocks] = _orient(ctx, src[blocks], dst[blocks], typ[blocks])
    projects = sorted({int(p) for p in sp.proj[partners]})
    return src, dst, typ, projects


def build(opts: Options, base: Base) -> Dataset:  # noqa: PLR0915
    """Generate the whole data set (numpy, seeded by opts.seed)."""
    rng = np.random.default_rng(opts.seed)
    n, n_links = opts.issues, opts.links
    n_projects = min(opts.projects, max(1, n))
    titles, descriptions, label_pool = _text_pools(rng)

    users, active = _users(rng, opts.users, base)
    weights = rng.lognormal(0.0, 1.1, n_projects)
    pcount = rng.multinomial(n, weights / weights.sum()).astype(np.int64)
    projects, visibility, pcreated, paths = _projects(rng, n_projects, pcount, base)
    m_project, m_user, m_role, bench_projects = _members(rng, n_projects, active, visibility)
    members = Members(m_project, m_user, n_projects)

    # Issues, by project then iid; created times increase with the iid inside a project.
    pstart = np.concatenate(([0], np.cumsum(pcount)[:-1])).astype(np.int64)
    proj = np.repeat(np.arange(n_projects), pcount)
    iid = np.arange(n, dtype=np.int64) - pstart[proj] + 1
    span = ANCHOR_US - pcreated[proj]
    created = pcreated[proj] + ((iid - 1 + rng.random(n)) / pcount[proj] * span).astype(np.int64)
    closed = rng.random(n) < 0.30
    confidential = rng.random(n) < 0.05
    space = IssueSpace(n, proj, pstart, pcount, created, closed, confidential)

    # The hub: an open, non-confidential issue of a public project.
    public_issues = np.flatnonzero(visibility[proj] == PUBLIC)
    hub = int(rng.choice(public_issues if len(public_issues) else np.arange(n)))

    # The deep structure: issues of a few large public projects (a "programme").
    width = min(DEEP_WIDTH, n // 200, n_links // 1200)
    deep = np.zeros(n, dtype=bool)
    deep_src = deep_dst = np.zeros(0, dtype=np.int64)
    root, closure, depth = -1, 0, 0
    if width >= DEEP_PARENTS:
        need = DEEP_LAYERS * width
        pool_mask = np.zeros(n, dtype=bool)
        by_size = [p for p in np.argsort(-pcount, kind="stable") if visibility[p] == PUBLIC]
        for p in by_size:
            pool_mask[pstart[p] : pstart[p] + pcount[p]] = True
            if pool_mask.sum() - pool_mask[hub] >= 2 * need:
                break
        pool_mask[hub] = False
        pool = np.flatnonzero(pool_mask)
        if len(pool) < need:
            pool = np.setdiff1d(np.arange(n), [hub])
        members_deep = rng.choice(pool, need, replace=False)
        deep[members_deep] = True
        deep_src, deep_dst, root, closure, depth = _deep_structure(rng, members_deep, width)
        closed[root] = confidential[root] = False
    closed[hub] = confidential[hub] = False

    rank = rng.permutation(n)
    middle = int(np.flatnonzero(rank == n // 2)[0])
    rank[middle], rank[hub] = rank[hub], n // 2  # the hub blocks some and is blocked by some
    cstart, csize = _clusters(rng, space)
    cluster = np.searchsorted(cstart, np.arange(n), side="right") - 1
    ctx = LinkContext(space, cstart, csize, cluster, rank, deep, hub)

    parent = _parent_forest(rng, space, min(0.25, 0.08 * n_links / n), hub)
    children = np.flatnonzero(parent >= 0)
    hub_src, hub_dst, hub_typ, hub_projects = _hub_links(rng, ctx, parent)

    # Fixed links first (deep, hub, forest); on a shared pair the earlier one wins. Dropping
    # a link never breaks a rule: a DAG stays acyclic, a forest stays a forest.
    src = np.concatenate([deep_src, hub_src, parent[children]])
    dst = np.concatenate([deep_dst, hub_dst, children])
    typ = np.concatenate(
        [
            np.full(len(deep_src), BLOCKS, dtype=np.int8),
            hub_typ,
            np.full(len(children), PARENT, dtype=np.int8),
        ]
    )
    keep = _first_unique(_pair_keys(n, src, dst))
    src, dst, typ = src[keep], dst[keep], typ[keep]
    if len(src) > n_links:
        raise ValueError(
            f"--links {n_links} is too few for the deep structure, the hub and the parent forest "
            f"({len(src)} links)"
        )
    fixed_keys = np.sort(_pair_keys(n, src, dst))
    r_src = r_dst = np.zeros(0, dtype=np.int64)
    r_typ = np.zeros(0, dtype=np.int8)
    accepted = 0.9  # share of candidates that survive (no self-link, no pair twice)
    for _ in range(50):
        need = n_links - len(src) - len(r_src)
        if need <= 0:
            break
        drawn = int(need / accepted * 1.05) + 64
        before = len(r_src)
        c_src, c_dst, c_typ = _random_links(rng, ctx, drawn)
        fresh = ~np.isin(_pair_keys(n, c_src, c_dst), fixed_keys, assume_unique=False)
        r_src = np.concatenate([r_src, c_src[fresh]])
        r_dst = np.concatenate([r_dst, c_dst[fresh]])
        r_typ = np.concatenate([r_typ, c_typ[fresh]])
        keep = _first_unique(_pair_keys(n, r_src, r_dst))[: n_links - len(src)]
        r_src, r_dst, r_typ = r_src[keep], r_dst[keep], r_typ[keep]
        accepted = max(0.02, (len(r_src) - before) / drawn)
    if len(src) + len(r_src) < n_links:
        raise ValueError(f"could not place {n_links} distinct links among {n} issues")
    src = np.concatenate([src, r_src])
    dst = np.concatenate([dst, r_dst])
    typ = np.concatenate([typ, r_typ])

    # Issue rows, in id order: ids follow creation time across projects, as in a real tracker.
    order = np.argsort(created, kind="stable")
    issue_id = np.empty(n, dtype=np.int64)
    issue_id[order] = base.issue_id + 1 + np.arange(n, dtype=np.int64)
    user_id = users.data[0]
    project_id = projects.data[0]
    private = visibility[proj] == PRIVATE
    author = np.where(
        private | (rng.random(n) < 0.7),
        members.draw(rng, proj),
        active[rng.integers(len(active), size=n)],
    )
    closed_at = np.minimum(
        created + SECOND_US * 60 + (rng.random(n) ** 2 * (ANCHOR_US - created)).astype(np.int64),
        ANCHOR_US,
    )
    touched = np.where(closed, closed_at, created)
    updated = touched + (rng.random(n) * 0.3 * (ANCHOR_US - touched)).astype(np.int64)
    has_due = rng.random(n) < 0.15
    due_days = created // DAY_US + rng.integers(7, 180, size=n)
    due = (np.datetime64("2000-01-01", "D") + due_days).astype(object)
    has_weight = rng.random(n) < 0.4
    weight = rng.choice([1, 2, 3, 5, 8, 13], size=n)
    has_labels = rng.random(n) < 0.75
    labels = label_pool[np.where(has_labels, rng.integers(1, len(label_pool), size=n), 0)]
    closer = user_id[members.draw(rng, proj)]
    issue_columns = [
        issue_id,
        project_id[proj],
        iid,
        titles[rng.integers(len(titles), size=n)],
        _objects(descriptions[rng.integers(len(descriptions), size=n)], rng.random(n) < 0.45),
        np.where(closed, "closed", "opened").astype(object),
        labels,
        user_id[author],
        _objects(np.array(MILESTONES, dtype=object)[rng.integers(len(MILESTONES), size=n)],
                 rng.random(n) < 0.35),
        _objects(due, has_due),
        confidential,
        _objects(weight, has_weight),
        _objects(closed_at, closed),
        _objects(closer, closed),
        created,
        updated,
    ]  # fmt: skip
    issues = Table(
        "issues",
        (
            "id",
            "project_id",
            "iid",
            "title",
            "description",
            "state",
            "labels",
            "author_id",
            "milestone",
            "due_date",
            "confidential",
            "weight",
            "closed_at",
            "closed_by_id",
            "created_at",
            "updated_at",
        ),
        [column[order] for column in issue_columns],
        n,
    )

    # Assignees: about half of the issues, one to three members of the issue's project.
    first = rng.random(n) < 0.5
    extra = rng.random(n)
    assigned = np.concatenate(
        [
            np.flatnonzero(first),
            np.flatnonzero(first & (extra < 0.2)),
            np.flatnonzero(first & (extra < 0.05)),
        ]
    )
    a_user = members.draw(rng, proj[assigned])
    a_keys = np.unique(issue_id[assigned] * opts.users + a_user)
    assignees = Table(
        "issue_assignees",
        ("issue_id", "user_id"),
        [a_keys // opts.users, user_id[a_keys % opts.users]],
        len(a_keys),
    )

    since = pcreated[m_project]
    joined = since + (rng.random(len(m_project)) * 0.5 * (ANCHOR_US - since)).astype(np.int64)
    members_table = Table(
        "project_members",
        ("project_id", "user_id", "role", "created_at"),
        [
            project_id[m_project],
            user_id[m_user],
            ROLES[m_role],
            joined,
        ],
        len(m_project),
    )

    # Link rows, in id order = creation order; created after both of their issues.
    newest = np.maximum(created[src], created[dst])
    l_created = newest + (rng.random(len(src)) ** 3 * (ANCHOR_US - newest)).astype(np.int64)
    was_updated = rng.random(len(src)) < 0.05
    l_updated = np.where(
        was_updated,
        l_created + (rng.random(len(src)) * (ANCHOR_US - l_created)).astype(np.int64),
        l_created,
    )
    l_author = user_id[members.draw(rng, proj[src])]
    l_editor = _objects(user_id[members.draw(rng, proj[src])], was_updated)
    l_order = np.argsort(l_created, kind="stable")
    link_columns = [
        base.link_id + 1 + np.arange(len(src), dtype=np.int64),
        issue_id[src][l_order],
        issue_id[dst][l_order],
        LINK_TYPES[typ][l_order],
        l_author[l_order],
        l_editor[l_order],
        l_created[l_order],
        l_updated[l_order],
    ]
    links = Table(
        "issue_links",
        (
            "id",
            "source_id",
            "target_id",
            "link_type",
            "author_id",
            "updated_by_id",
            "created_at",
            "updated_at",
        ),
        link_columns,
        len(src),
    )

    degree = np.bincount(src, minlength=n) + np.bincount(dst, minlength=n)
    summary: dict[str, Any] = {
        "deep": None,
        "deep_issue_ids": issue_id[deep].tolist(),
        "hub": {
            "project": paths[proj[hub]],
            "iid": int(iid[hub]),
            "issue_id": int(issue_id[hub]),
            "links": int(degree[hub]),
            "linked_projects": len(hub_projects),
        },
        "bench_user_projects": len(bench_projects),
        "max_links_per_issue": int(degree.max()) if n else 0,
        "parent_links_planned": len(children),
    }
    if root >= 0:
        summary["deep"] = {
            "project": paths[proj[root]],
            "iid": int(iid[root]),
            "issue_id": int(issue_id[root]),
            "layers": DEEP_LAYERS,
            "width": width,
            "issues": int(deep.sum()),
            "links": len(deep_src),
            "expected_closure_size": closure,
            "expected_depth": depth,
        }
    tables = [users, projects, members_table, issues, assignees, links]
    return Dataset(tables, summary)


# --------------------------------------------------------------------------------------------
# Loading


class Phases:
    """Wall time per phase, in the order they ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)


def _column_slice(column: Any, start: int, end: int) -> list[Any]:
    if isinstance(column, np.ndarray):
        return column[start:end].tolist()  # type: ignore[no-any-return]
    return list(column[start:end])


async def _copy(conn: asyncpg.Connection, table: Table, opts: Options) -> None:
    bar = (
        tqdm(total=table.rows, desc=f"{table.name:>16}", unit="row", unit_scale=True)
        if opts.progress and tqdm is not None
        else None
    )
    try:
        for start in range(0, table.rows, opts.batch_size):
            end = min(table.rows, start + opts.batch_size)
            records = zip(*(_column_slice(c, start, end) for c in table.data), strict=True)
            await conn.copy_records_to_table(
                table.name, records=records, columns=list(table.columns)
            )
            if bar is not None:
                bar.update(end - start)
    finally:
        if bar is not None:
            bar.close()


def _timestamp_codec() -> dict[str, Any]:
    """timestamptz as microseconds since 2000-01-01 UTC (asyncpg's tuple format): the
    generator's own representation, so no datetime objects are built per value."""
    return {
        "schema": "pg_catalog",
        "encoder": lambda us: (us,),
        "decoder": lambda value: value[0],
        "format": "tuple",
    }


@dataclass(slots=True)
class Deferred:
    """An index or constraint dropped before the load, with the SQL that restores it."""

    table: str
    name: str
    kind: str  # "index", "unique", "foreign key"
    drop: str
    create: str


async def _deferrable(conn: asyncpg.Connection, mode: str) -> list[Deferred]:
    if mode == "none":
        return []
    found: list[Deferred] = []
    rows = await conn.fetch(
        """
        select t.relname as table_name, c.relname as index_name, i.indisunique as is_unique,
               pg_get_indexdef(i.indexrelid) as definition,
               con.conname, con.contype::text, pg_get_constraintdef(con.oid) as condef
          from pg_index i
          join pg_class c on c.oid = i.indexrelid
          join pg_class t on t.oid = i.indrelid
          left join pg_constraint con on con.conindid = i.indexrelid and con.conrelid = t.oid
                and con.contype in ('p', 'u', 'x')
         where t.relname = any($1::text[]) and t.relnamespace = current_schema()::regnamespace
           and not i.indisprimary
         order by t.relname, c.relname
        """,
        list(LOADED_TABLES),
    )
    for r in rows:
        table, index = _quote(r["table_name"]), _quote(r["index_name"])
        if r["contype"] is not None:
            if mode != "all" or r["contype"] != "u":
                continue
            name = _quote(r["conname"])
            found.append(
                Deferred(
                    r["table_name"],
                    r["conname"],
                    "unique",
                    f"alter table {table} drop constraint {name}",
                    f"alter table {table} add constraint {name} {r['condef']}",
                )
            )
        elif not r["is_unique"] or mode == "all":
            found.append(
                Deferred(
                    r["table_name"],
                    r["index_name"],
                    "unique" if r["is_unique"] else "index",
                    f"drop index {index}",
                    r["definition"],
                )
            )
    if mode == "all":
        fks = await conn.fetch(
            """
            select t.relname as table_name, con.conname, pg_get_constraintdef(con.oid) as condef
              from pg_constraint con join pg_class t on t.oid = con.conrelid
             where con.contype = 'f' and t.relname = any($1::text[])
               and t.relnamespace = current_schema()::regnamespace
             order by t.relname, con.conname
            """,
            list(LOADED_TABLES),
        )
        for r in fks:
            table, name = _quote(r["table_name"]), _quote(r["conname"])
            found.append(
                Deferred(
                    r["table_name"],
                    r["conname"],
                    "foreign key",
                    f"alter table {table} drop constraint {name}",
                    f"alter table {table} add constraint {name} {r['condef']}",
                )
            )
    return found


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


async def _base(conn: asyncpg.Connection) -> Base:
    taken = await conn.fetch(
        "select lower(username) as u from users where lower(username) = any($1::text[])",
        [ADMIN_USERNAME, USER_USERNAME],
    )
    if taken:
        raise SystemExit(
            f"{', '.join(r['u'] for r in taken)} already exist: this database holds a generated "
            "data set; run again with --reset to replace it"
        )
    base = Base()
    for table, attribute in (
        ("users", "user_id"),
        ("projects", "project_id"),
        ("issues", "issue_id"),
        ("issue_links", "link_id"),
    ):
        value = await conn.fetchval(f"select coalesce(max(id), 0) from {table}")  # noqa: S608
        setattr(base, attribute, int(value))
    base.usernames = {r[0] for r in await conn.fetch("select lower(username) from users")}
    base.paths = {r[0] for r in await conn.fetch("select lower(full_path) from projects")}
    return base


async def _trigger_enabled(conn: asyncpg.Connection) -> bool:
    state = await conn.fetchval(
        "select tgenabled::text from pg_trigger "
        "where tgname = $1 and tgrelid = 'issue_links'::regclass",
        TRIGGER,
    )
    return state is not None and state != "D"


async def _load(conn: asyncpg.Connection, opts: Options, phases: Phases) -> Dataset:
    """Everything that writes the data set: one transaction, so a failure changes nothing."""
    async with conn.transaction():
        if opts.reset:
            with phases("reset"):
                await conn.execute(f"truncate {', '.join(DATA_TABLES)} restart identity cascade")
        await conn.execute(f"lock table {', '.join(LOADED_TABLES)} in exclusive mode")
        base = await _base(conn)
        with phases("generate"):
            data = build(opts, base)
        # The trigger would search for a cycle per copied row; the data is acyclic by
        # construction (and the test suite checks it). Re-enabled below, in this transaction.
        await conn.execute(f"alter table issue_links disable trigger {TRIGGER}")
        for table, trigger in GRAPH_TRIGGERS:
            await conn.execute(f"alter table {table} disable trigger {trigger}")
        with phases("drop_indexes"):
            deferred = await _deferrable(conn, opts.defer)
            for item in deferred:
                await conn.execute(item.drop)
        await conn.set_type_codec("timestamptz", **_timestamp_codec())
        try:
            for table in data.tables:
                with phases(f"copy_{table.name}"):
                    await _copy(conn, table, opts)
        finally:
            await conn.reset_type_codec("timestamptz", schema="pg_catalog")
        with phases("rebuild_indexes"):
            order = {"unique": 0, "index": 1, "foreign key": 2}
            rebuilt = {}
            for item in sorted(deferred, key=lambda d: order[d.kind]):
                started = time.perf_counter()
                await conn.execute(item.create)
                rebuilt[f"{item.kind} {item.name}"] = round(time.perf_counter() - started, 3)
        for table in IDENTITY_TABLES:
            await conn.execute(
                f"select setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "  # noqa: S608
                f"from {table} having max(id) is not null"
            )
        await conn.execute(f"alter table issue_links enable trigger {TRIGGER}")
        for table, trigger in GRAPH_TRIGGERS:
            await conn.execute(f"alter table {table} enable trigger {trigger}")
        data.summary["deferred"] = rebuilt
        commit_started = time.perf_counter()
    phases.seconds["commit"] = round(time.perf_counter() - commit_started, 3)
    return data


async def upstream_closure(conn: asyncpg.Connection, issue_id: int) -> tuple[int, int]:
    """(size, depth) of the issues that transitively block `issue_id`.

    The size comes from a recursive CTE (UNION on the id: each issue once); the depth, the
    longest shortest path, from a breadth-first walk, one set-based statement per level.
    """
    size = await conn.fetchval(
        """
        with recursive up(id) as (
            select $1::bigint
            union
            select l.source_id from issue_links l join up on l.target_id = up.id
             where l.link_type = 'blocks'
        )
        select count(*) - 1 from up
        """,
        issue_id,
    )
    seen = {issue_id}
    frontier = [issue_id]
    depth = 0
    while frontier:
        rows = await conn.fetch(
            "select distinct source_id from issue_links "
            "where link_type = 'blocks' and target_id = any($1::bigint[])",
            frontier,
        )
        frontier = [r[0] for r in rows if r[0] not in seen]
        if frontier:
            seen.update(frontier)
            depth += 1
    return int(size), depth


async def _closure_sample(
    conn: asyncpg.Connection, seed: int, exclude: list[int]
) -> dict[str, Any]:
    """Upstream `blocks` closure sizes of random issues outside the deep structure: how far
    the "what blocks this" queries of the benchmarks walk on ordinary issues."""
    ids = await conn.fetch(
        """
        select id from (select distinct target_id as id from issue_links
                         where link_type = 'blocks') t
         where not (id = any($2::bigint[]))
         order by md5(id::text || $1::text) limit 200
        """,
        str(seed),
        exclude,
    )
    sizes = []
    async with conn.transaction():
        await conn.execute("set local statement_timeout = '10s'")
        for r in ids:
            size = await conn.fetchval(
                """
                with recursive up(id) as (
                    select $1::bigint
                    union
                    select l.source_id from issue_links l join up on l.target_id = up.id
                     where l.link_type = 'blocks'
                )
                select count(*) - 1 from up
                """,
                r[0],
            )
            sizes.append(int(size))
    if not sizes:
        return {"issues": 0}
    a = np.array(sizes)
    return {
        "issues": len(sizes),
        "p50": int(np.percentile(a, 50)),
        "p90": int(np.percentile(a, 90)),
        "p99": int(np.percentile(a, 99)),
        "max": int(a.max()),
    }


def _redacted(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


@contextlib.asynccontextmanager
async def _database(opts: Options) -> AsyncIterator[str]:
    """The DSN to load into: --dsn, else the service's own database (migrated)."""
    if opts.dsn is not None:
        conn = await asyncpg.connect(opts.dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield opts.dsn
        return
    settings = Settings.from_env()
    async with open_database(settings) as db:
        yield db.dsn


async def generate(opts: Options) -> dict[str, Any]:
    """Generate and load the data set; return (and write to opts.output) the report."""
    started = time.perf_counter()
    phases = Phases()
    async with contextlib.AsyncExitStack() as stack:
        with phases("open_database"):
            dsn = await stack.enter_async_context(_database(opts))
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "set idle_in_transaction_session_timeout = 0; set statement_timeout = 0;"
                "set synchronous_commit = off; set maintenance_work_mem = '1GB';"
                "set work_mem = '256MB'"
            )
            try:
                data = await _load(conn, opts, phases)
            finally:
                # The transaction re-enables the trigger or rolls its disabling back; this
                # only makes sure of it, whatever happened.
                if not conn.is_closed() and not await _trigger_enabled(conn):
                    await conn.execute(f"alter table issue_links enable trigger {TRIGGER}")
            with phases("vacuum_analyze" if opts.vacuum else "analyze"):
                tables = ", ".join(LOADED_TABLES)
                await conn.execute(
                    f"vacuum (analyze) {tables}" if opts.vacuum else f"analyze {tables}"
                )
            report = await _report(conn, opts, data, phases)
        finally:
            await conn.close()
        closing = time.perf_counter()  # an embedded server we started stops (checkpoint)
    phases.seconds["close_database"] = round(time.perf_counter() - closing, 3)
    report["database"] = _redacted(dsn)
    report["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    report["phases"] = phases.seconds
    if opts.output is not None:
        opts.output.parent.mkdir(parents=True, exist_ok=True)
        opts.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


async def _report(
    conn: asyncpg.Connection, opts: Options, data: Dataset, phases: Phases
) -> dict[str, Any]:
    summary = data.summary
    with phases("tokens"):
        tokens = {}
        for username in (ADMIN_USERNAME, USER_USERNAME):
            _, tokens[username] = await create_token(
                conn, username, scopes=[TokenScope.API], name="bench"
            )
    with phases("measure"):
        counts = {}
        for table in DATA_TABLES:
            counts[table] = await conn.fetchval(f"select count(*) from {table}")  # noqa: S608
        link_types = {
            r["link_type"]: r["n"]
            for r in await conn.fetch(
                "select link_type::text, count(*) as n from issue_links group by 1 order by 1"
            )
        }
        visibility = {
            r["visibility"]: r["n"]
            for r in await conn.fetch(
                "select visibility::text, count(*) as n from projects group by 1 order by 1"
            )
        }
        deep = summary["deep"]
        if deep is not None:
            deep["closure_size"], deep["depth"] = await upstream_closure(conn, deep["issue_id"])
        hub = summary["hub"]
        hub["links"] = await conn.fetchval(
            "select count(*) from issue_links where source_id = $1 or target_id = $1",
            hub["issue_id"],
        )
        sample = await _closure_sample(conn, opts.seed, summary["deep_issue_ids"])
    return {
        "seed": opts.seed,
        "requested": {"issues": opts.issues, "links": opts.links},
        "counts": counts,
        "link_types": link_types,
        "project_visibility": visibility,
        "deep": deep,
        "hub": hub,
        "blocks_closure_sample": sample,
        "max_links_per_issue": summary["max_links_per_issue"],
        "users": {"admin": ADMIN_USERNAME, "user": USER_USERNAME},
        "bench_user_projects": summary["bench_user_projects"],
        "tokens": tokens,
        # What was dropped before the load and rebuilt after it, with the seconds each took.
        "rebuilt_after_load": summary["deferred"],
        "trigger_enabled": await _trigger_enabled(conn),
    }


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description="Load a large, realistic issuegraph data set for benchmarks.",
    )
    parser.add_argument("--issues", type=int, help=f"issues (default {DEFAULT_ISSUES:,})")
    parser.add_argument("--links", type=int, help=f"issue links (default {DEFAULT_LINKS:,})")
    parser.add_argument(
        "--large",
        action="store_true",
        help=f"{LARGE_ISSUES:,} issues and {LARGE_LINKS:,} links (unless given explicitly)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--reset", action="store_true", help="empty the data tables first (restart identities)"
    )
    parser.add_argument(
        "--dsn", help="PostgreSQL URL (default: DATABASE_URL, else the embedded server)"
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="report path (default %(default)s)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--defer",
        choices=["none", "nonunique", "all"],
        default="all",
        help="indexes/constraints to drop and rebuild around the load (default %(default)s)",
    )
    parser.add_argument(
        "--analyze-only", action="store_true", help="ANALYZE instead of VACUUM (ANALYZE)"
    )
    parser.add_argument("--batch-size", type=int, default=50_000, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    issues = (
        args.issues if args.issues is not None else (LARGE_ISSUES if args.large else DEFAULT_ISSUES)
    )
    links = args.links if args.links is not None else (LARGE_LINKS if args.large else DEFAULT_LINKS)
    if issues < 200 or links < 200:
        parser.error("--issues and --links must be at least 200")
    return Options(
        issues=issues,
        links=links,
        seed=args.seed,
        reset=args.reset,
        dsn=args.dsn,
        output=args.output,
        progress=not args.no_progress,
        defer=args.defer,
        vacuum=not args.analyze_only,
        batch_size=args.batch_size,
    )


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse_args(argv)
    report = asyncio.run(generate(opts))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
