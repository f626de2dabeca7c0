"""The entities the service reasons about, as the database layer hands them over."""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields, make_dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, cast

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    PRIVATE = "private"


class Role(enum.IntEnum):
    """Project roles; a higher value can do everything a lower one can."""

    GUEST = 10
    REPORTER = 20
    DEVELOPER = 30
    MAINTAINER = 40
    OWNER = 50

    @property
    def db_value(self) -> str:
        return self.name.lower()

    @classmethod
    def from_db(cls, value: str) -> Role:
        return cls[value.upper()]


class IssueState(enum.StrEnum):
    OPENED = "opened"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ReadScope:
    """Who reads, for set-based reads: the database applies `Access.can_read_issue` as
    `db.queries.visibility.readable_issue`, written into the statement, or as the SQL
    function `issue_visible(issue, viewer_id, admin)` derived from it (the graph walks).
    See docs/read-rule.md."""

    viewer_id: int | None
    admin: bool


class Related(NamedTuple):
    """What a read of issues brings along in its own statement, for the fields its issues
    will show: their projects, the users their `user_columns` name (`author_id`,
    `closed_by_id`), and their assignees' ids and users. (A tuple: loaders hash it in
    their keys, key after key.)"""

    projects: bool = False
    user_columns: tuple[str, ...] = ()
    assignees: bool = False

    @property
    def users(self) -> bool:
        return bool(self.user_columns) or self.assignees


NOTHING_RELATED = Related()


class TokenScope(enum.StrEnum):
    READ_API = "read_api"  # queries only
    API = "api"  # queries and mutations


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    name: str
    state: str
    avatar_url: str | None
    is_admin: bool
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    full_path: str
    name: str
    description: str | None
    visibility: Visibility
    created_at: dt.datetime
    updated_at: dt.datetime
    # Jira's project key, the KEY of issue keys KEY-123: unique, upper case.
    key: str


@dataclass(frozen=True, slots=True)
class Issue:
    id: int
    project_id: int
    iid: int
    title: str
    description: str | None
    state: IssueState
    labels: tuple[str, ...]
    author_id: int
    milestone: str | None
    due_date: dt.date | None
    confidential: bool
    weight: int | None
    closed_at: dt.datetime | None
    closed_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: a signed-in user with the scopes of their token, or nobody."""

    user: User | None = None
    scopes: frozenset[TokenScope] = frozenset()

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin

    @property
    def can_write(self) -> bool:
        return TokenScope.API in self.scopes


ANONYMOUS = Viewer()


class StoredLinkType(enum.StrEnum):
    """How a link is stored: always in its canonical direction, source -> target."""

    RELATES = "relates"
    BLOCKS = "blocks"
    DUPLICATES = "duplicates"
    PARENT = "parent"
    CLONES = "clones"


@dataclass(frozen=True, slots=True)
class IssueLink:
    id: int
    source_id: int
    target_id: int
    link_type: StoredLinkType
    author_id: int | None
    updated_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def other_end(self, issue_id: int) -> int:
        return self.target_id if issue_id == self.source_id else self.source_id

    def touches(self, issue_id: int) -> bool:
        return issue_id in (self.source_id, self.target_id)


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    issue_id: int
    author_id: int | None
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime


T = TypeVar("T")


def thawed(cls: type[T]) -> Callable[..., T]:
    """A slotted, unfrozen twin of the frozen slotted dataclass `cls`, for building its
    objects from rows: `obj = twin(*values); obj.__class__ = cls`.

    A frozen dataclass's `__init__` sets each field through `object.__setattr__`, which
    costs ten times a plain slotted `__init__`, and a request builds hundreds of these
    models from rows. The twin has the same fields in the same order, so the same slots
    and layout, and the object it builds takes `cls` as its class: from then on it is an
    ordinary `cls` (frozen, equal and hashing as one). Typed as building `cls` for that.
    """
    twin: Any = make_dataclass(
        f"_Thawed{cls.__name__}",
        [(field.name, field.type) for field in fields(cast("Any", cls))],
        slots=True,
    )
    twin.__module__ = cls.__module__
    if twin.__slots__ != getattr(cls, "__slots__", None) or twin.__base__ is not cls.__base__:
        raise TypeError(f"{cls.__name__} is not a plain slotted dataclass")
    return cast("Callable[..., T]", twin)


class EventKind(enum.StrEnum):
    """What a change-log event records (docs/events.md)."""

    ISSUE_CREATED = "issue_created"
    ISSUE_UPDATED = "issue_updated"
    ISSUE_CLOSED = "issue_closed"
    ISSUE_REOPENED = "issue_reopened"
    ISSUE_DELETED = "issue_deleted"
    LINK_CREATED = "link_created"
    LINK_UPDATED = "link_updated"
    LINK_DELETED = "link_deleted"

    @property
    def is_link(self) -> bool:
        return self.value.startswith("link_")


ISSUE_KINDS = frozenset(kind for kind in EventKind if not kind.is_link)
LINK_KINDS = frozenset(kind for kind in EventKind if kind.is_link)


class Position(NamedTuple):
    """Where an event sits in the log: readers order by (xid, id) (docs/events.md)."""

    xid: int
    id: int


START = Position(0, 0)


@dataclass(frozen=True, slots=True)
class IssueSnapshot:
    """An issue as an event saw it: enough to describe it, and to apply the read rule to
    it, once it has been deleted."""

    id: int
    project_id: int
    iid: int
    title: str
    state: IssueState
    confidential: bool
    author_id: int


@dataclass(frozen=True, slots=True)
class Change:
    """One field an update changed."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    xid: int
    kind: EventKind
    actor_id: int | None
    occurred_at: dt.datetime
    silent: bool
    # An issue event's issue; a link event's source then target.
    issues: tuple[IssueSnapshot, ...]
    link_id: int | None
    link_type: StoredLinkType | None
    changes: tuple[Change, ...]

    @property
    def position(self) -> Position:
        return Position(self.xid, self.id)

    @property
    def project_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(issue.project_id for issue in self.issues))


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # Not sent: when its turn came, the hook's creator could no longer read the event.
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Webhook:
    id: int
    project_id: int
    creator_id: int
    url: str
    secret: str
    kinds: tuple[EventKind, ...]
    enabled: bool
    disabled_reason: str | None
    disabled_at: dt.datetime | None
    consecutive_failures: int
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    id: int
    webhook_id: int
    event_id: int
    message_id: str
    redelivery: bool
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    id: int
    delivery_id: int
    attempted_at: dt.datetime
    response_status: int | None
    duration_ms: float
    error: str | None
