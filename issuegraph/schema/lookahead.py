"""Look-ahead: what a field's selection will read, worked out from the document before
its sub-fields run, so that one statement can bring it along.

- `related(info, path)`: which of an issue's relations (project, author, closer,
  assignees) the issues selected at `path` below this field show (`Related`): a read of
  issues brings those along in its own statement.
- `prefetch_links(info, work)`: the pages of links that the link-list fields selected
  below a list of issues will ask for, loaded level by level, one statement per kind of
  page, so that each list answers at once from its page.

Both read the document's nodes along a path only; directives are not evaluated, so a field
under @skip may be loaded ahead for nothing, never missed. A link-list field's loader key
is made by `link_page_shape` here, for the field (`schema.issues`) and for the look-ahead
alike, so the two always ask for the same page.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final, cast

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionNode
from graphql.execution.values import VariableValues, get_argument_values

from issuegraph.domain.link_types import LinkType
from issuegraph.models import Related
from issuegraph.schema.pagination import decode_link_cursor, page_size

if TYPE_CHECKING:
    from collections.abc import Awaitable, Iterable, Mapping, Sequence

    from graphql import FragmentDefinitionNode, GraphQLObjectType, SelectionSetNode

    from issuegraph.context import Info
    from issuegraph.db.queries.links import LinkedIssue
    from issuegraph.loaders.links import LinkPageKey

# A link-list field's loader key without the issue id: (link types or None for all, rows
# asked for (page size + 1), cursor, what the page's issues' fields read).
LinkPageShape = tuple[frozenset[LinkType] | None, int, tuple[dt.datetime, int] | None, Related]

# Issue fields that read through a loader, by what they need loaded.
_PROJECT_FIELDS = frozenset({"project", "webUrl", "reference"})
_USER_FIELDS = {"author": "author_id", "closedBy": "closed_by_id"}
_ASSIGNEE_FIELDS = frozenset({"assignees", "assignee"})

IS_BLOCKED_BY: Final = frozenset({LinkType.IS_BLOCKED_BY})
BLOCKS: Final = frozenset({LinkType.BLOCKS})
RELATES_TO: Final = frozenset({LinkType.RELATES_TO})
PARENT_OF: Final = frozenset({LinkType.PARENT_OF})
CHILD_OF: Final = frozenset({LinkType.CHILD_OF})

# Issue's fields that list linked issues, and the link types each reads (None: those its
# `linkTypes` argument names). `parent` is one issue (a page of one), not a connection.
LINK_LISTS: Final[dict[str, frozenset[LinkType] | None]] = {
    "links": None,
    "blockedBy": IS_BLOCKED_BY,
    "blocking": BLOCKS,
    "relatedIssues": RELATES_TO,
    "children": PARENT_OF,
    "parent": CHILD_OF,
}
NODES: Final = ("edges", "node")

# (issue ids, the selections below which their fields are, the path to them there)
LinkWork = tuple[list[int], list[SelectionNode], tuple[str, ...]]

# Plans by (id of the field node, path), the node kept so that its id is not reused.
# Parsed documents are cached (`schema.caches`), so their nodes come again, request after
# request; bounded, emptied when full.
PLANS_KEPT = 4096
_plans: dict[tuple[int, tuple[str, ...]], tuple[FieldNode, Related]] = {}


def link_page_shape(
    types: frozenset[LinkType] | None, first: int | None, after: str | None, related: Related
) -> LinkPageShape:
    """The loader key of a page of links, but the issue id; BAD_USER_INPUT for a page size
    out of bounds or a cursor that is not one."""
    return types, page_size(first) + 1, decode_link_cursor(after), related


def _core(info: Info) -> Any:
    """graphql-core's resolve info, which Strawberry's `Info` wraps: the field's nodes, the
    document's fragments, the variables' values."""
    return info._raw_info  # noqa: SLF001


def _fields_at(
    selections: Iterable[SelectionNode],
    path: Sequence[str],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> list[FieldNode]:
    """The field nodes selected at `path` below `selections`, through fragments."""
    found: list[FieldNode] = []
    for selection in selections:
        inner: SelectionSetNode | None = None
        rest = path
        if isinstance(selection, FieldNode):
            if not path:
                found.append(selection)
            elif selection.name.value == path[0]:
                inner, rest = selection.selection_set, path[1:]
        elif isinstance(selection, InlineFragmentNode):
            inner = selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            inner = fragment.selection_set if fragment is not None else None
        if inner is not None:
            found.extend(_fields_at(inner.selections, rest, fragments))
    return found


def _related(
    selections: Iterable[SelectionNode],
    path: Sequence[str],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Related:
    """What the fields of an issue selected at `path` below `selections` read through
    loaders."""
    wanted = {node.name.value for node in _fields_at(selections, path, fragments)}
    return Related(
        projects=not wanted.isdisjoint(_PROJECT_FIELDS),
        user_columns=tuple(column for name, column in _USER_FIELDS.items() if name in wanted),
        assignees=not wanted.isdisjoint(_ASSIGNEE_FIELDS),
    )


def below(info: Info) -> list[SelectionNode]:
    """The selections of this field's nodes (merged, as for a response key)."""
    return [
        selection
        for node in _core(info).field_nodes
        if node.selection_set is not None
        for selection in node.selection_set.selections
    ]


def selects(info: Info, *names: str) -> bool:
    """Whether any of `names` is selected right below this field (through fragments)."""
    fragments = _core(info).fragments
    return any(node.name.value in names for node in _fields_at(below(info), (), fragments))


def related(info: Info, path: Sequence[str] = NODES) -> Related:
    """What the issues selected at `path` below this field read through loaders (with
    `path` empty, this field's own issue). Worked out once per field node and path: a
    list of 50 issues asks 50 times."""
    core = _core(info)
    node = core.field_nodes[0]
    key = (id(node), tuple(path))
    known = _plans.get(key)
    if known is not None and known[0] is node:
        return known[1]
    plan = _related(below(info), path, core.fragments)
    if len(_plans) >= PLANS_KEPT:
        _plans.clear()
    _plans[key] = (node, plan)
    return plan


async def prefetch_links(info: Info, work: list[LinkWork]) -> None:
    """Load, a statement per kind of page and level, the pages of links that the link-list
    fields selected for these issues will read, and those of their pages' issues below,
    so that each field answers at once instead of each waiting for its own share of a
    batch. A field whose arguments are wrong is left to its resolver, which reports it
    where it belongs."""
    loader = info.context.loaders.linked_issues_by_issue
    while work:
        # Every key of a level is asked for in one tick: one batch, one await each.
        asked: list[tuple[Awaitable[list[list[LinkedIssue]]], LinkWork, int]] = []
        for issue_ids, selections, path in work:
            if not issue_ids:
                continue
            for name, nodes in _link_lists_at(info, selections, path):
                shape = _field_shape(info, name, nodes)
                if shape is None:
                    continue
                keys: list[LinkPageKey] = [(issue_id, *shape) for issue_id in issue_ids]
                inner = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
                # `parent`'s issue's fields are its selection's own, not below edges.node
                next_path: tuple[str, ...] = () if name == "parent" else NODES
                asked.append((loader.load_many(keys), ([], inner, next_path), shape[1] - 1))
        work = []
        for answer, (shown, inner, next_path), limit in asked:
            shown.extend(r.issue.id for rows in await answer for r in rows[:limit])
            work.append((shown, inner, next_path))


def _link_lists_at(
    info: Info, selections: list[SelectionNode], path: tuple[str, ...]
) -> list[tuple[str, list[FieldNode]]]:
    """The link-list fields selected at `path` below `selections`: per response key, the
    field's name and its nodes (one field, asked alike: validation sees to it)."""
    found: dict[str, tuple[str, list[FieldNode]]] = {}
    for node in _fields_at(selections, path, _core(info).fragments):
        name = node.name.value
        if name in LINK_LISTS:
            key = node.alias.value if node.alias else name
            found.setdefault(key, (name, []))[1].append(node)
    return list(found.values())


def _field_shape(info: Info, name: str, nodes: list[FieldNode]) -> LinkPageShape | None:
    """The page a link-list field will ask for, from its arguments (graphql-core's coerced
    values: an enum's value, as `LinkType` holds it); None when they do not coerce, or
    name a page out of bounds (the resolver says why)."""
    core = _core(info)
    field = cast("GraphQLObjectType", core.schema.type_map["Issue"]).fields[name]
    # graphql-core's info holds the coerced values (a dict), whatever its annotation says;
    # they are all that the arguments read.
    held: Any = core.variable_values
    variables = held if isinstance(held, VariableValues) else VariableValues({}, held)
    inner = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
    plan = _related(inner, NODES, core.fragments)
    try:
        arguments = get_argument_values(field, nodes[0], variables)
        if name == "parent":
            return link_page_shape(CHILD_OF, 1, None, plan)
        types = LINK_LISTS[name]
        if name == "links":
            named = arguments.get("linkTypes")
            types = None if named is None else frozenset(LinkType(t) for t in named)
        return link_page_shape(types, arguments.get("first"), arguments.get("after"), plan)
    except Exception:  # noqa: BLE001  (left to the resolver, which raises it in place)
        return None
