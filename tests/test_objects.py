"""Schema objects made by `schema.objects.built` are the ones their types' `__init__` makes."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest

from issuegraph.domain.link_types import LinkType
from issuegraph.schema.issues import Issue, Project
from issuegraph.schema.links import IssueLink, LinkedIssueEdge
from issuegraph.schema.objects import built
from issuegraph.schema.users import User
from tests.test_models import ISSUE, LINK, NOW, PROJECT, USER

INFO: Any = SimpleNamespace(
    context=SimpleNamespace(settings=SimpleNamespace(public_url="http://issuegraph.test"))
)


def _link() -> IssueLink:
    return IssueLink.from_model(LINK, Issue.from_model(ISSUE), Issue.from_model(ISSUE))


def _edge() -> LinkedIssueEdge:
    return built(
        LinkedIssueEdge,
        {
            "node": Issue.from_model(ISSUE),
            "link": _link(),
            "link_type": LinkType.IS_BLOCKED_BY,
            "link_created_at": NOW,
            "link_updated_at": NOW,
        },
    )


MADE = {
    "User": lambda: User.from_model(USER, INFO),
    "Project": lambda: Project.from_model(PROJECT),
    "Issue": lambda: Issue.from_model(ISSUE),
    "IssueLink": _link,
    "LinkedIssueEdge": _edge,
}


@pytest.mark.parametrize("name", sorted(MADE))
def test_built_objects_are_what_their_constructor_makes(name):
    made = MADE[name]()
    cls = type(made)
    assert cls.__name__ == name
    assert not hasattr(cls, "__post_init__")
    # The constructor takes exactly the values given (a field left out or unknown fails).
    expected = cls(**dict(made.__dict__))
    assert made.__dict__ == expected.__dict__
    assert made == expected
    assert repr(made) == repr(expected)
    assert set(made.__dict__) == {f.name for f in dataclasses.fields(cls) if f.init}


def test_built_objects_have_dicts_of_their_own():
    one, two = Issue.from_model(ISSUE), Issue.from_model(ISSUE)
    one.title = "changed"
    assert two.title == "T"
    assert one.labels == two.labels == ["a"]
    assert one.labels is not two.labels
