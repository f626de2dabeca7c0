"""Models read from rows are built through `models.thawed` twins: they must come out as
ordinary frozen models, the same in every way as the ones their classes' `__init__` builds."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from issuegraph.db.queries.issues import to_issue
from issuegraph.db.queries.links import LinkedIssue, _linked_issue, to_link
from issuegraph.db.queries.projects import to_project
from issuegraph.db.queries.users import to_user
from issuegraph.models import (
    Issue,
    IssueLink,
    IssueState,
    Project,
    StoredLinkType,
    User,
    Visibility,
    thawed,
)

NOW = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)
CONFIDENTIAL, ADMIN = False, False
ISSUE = Issue(7, 2, 3, "T", None, IssueState.CLOSED, ("a",), 5, "m", dt.date(2026, 1, 2),
              CONFIDENTIAL, 4, NOW, 6, NOW, NOW)  # fmt: skip
LINK = IssueLink(9, 7, 8, StoredLinkType.BLOCKS, 5, None, NOW, NOW)
USER = User(5, "ada", "Ada", "active", None, ADMIN, NOW)
PROJECT = Project(2, "acme/web", "Web", None, Visibility.PUBLIC, NOW, NOW, "WEB")


def _issue_row() -> tuple[object, ...]:
    values = [getattr(ISSUE, f.name) for f in dataclasses.fields(Issue)]
    values[5] = "closed"  # as the database sends them
    values[6] = ["a"]
    return tuple(values)


def _link_row() -> tuple[object, ...]:
    values = [getattr(LINK, f.name) for f in dataclasses.fields(IssueLink)]
    values[3] = "blocks"
    return tuple(values)


def _named(model: object) -> dict[str, object]:
    named = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}  # type: ignore[arg-type]
    if isinstance(model, Project):
        named["visibility"] = model.visibility.value
    return named


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (lambda: to_issue(_issue_row()), ISSUE),
        (lambda: to_issue(("x", "y", *_issue_row()), 2), ISSUE),
        (lambda: to_link(_link_row()), LINK),
        (lambda: to_user(_named(USER)), USER),
        (lambda: to_project(_named(PROJECT)), PROJECT),
        (
            lambda: _linked_issue(1, LINK, ISSUE, {"assignee_ids": [5]}, assignees=True),
            LinkedIssue(1, LINK, ISSUE, [5]),
        ),
    ],
    ids=["issue", "issue at an offset", "link", "user", "project", "linked issue"],
)
def test_a_model_read_from_a_row_is_an_ordinary_frozen_model(built, expected) -> None:
    model = built()
    assert type(model) is type(expected)
    assert model == expected
    assert repr(model) == repr(expected)
    if not isinstance(model, LinkedIssue):  # (holds a list: not hashable)
        assert hash(model) == hash(expected)
    first = dataclasses.fields(model)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(model, first, None)
    assert dataclasses.replace(model) == expected


def test_only_plain_slotted_dataclasses_have_a_twin() -> None:
    @dataclasses.dataclass(frozen=True)
    class WithDict:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True, weakref_slot=True)
    class WithWeakref:
        a: int

    for cls in (WithDict, WithWeakref):
        with pytest.raises(TypeError, match="not a plain slotted dataclass"):
            thawed(cls)
