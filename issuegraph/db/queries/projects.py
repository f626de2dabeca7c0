from __future__ import annotations

from typing import Any

from issuegraph.db.codecs import decode_timestamptz
from issuegraph.models import Project, Role, Visibility, thawed

_COLUMNS = "id, full_path, name, description, visibility, created_at, updated_at, key"
# The same, of a query's `p` (`to_project` reads them by name).
PROJECT_COLUMNS = ", ".join(f"p.{name}" for name in _COLUMNS.split(", "))
# A project `p` as a record of a query's own (timestamps as text: see `db.codecs`; the
# visibility too, a type of ours the record decoder does not know), the
# fields in the model's order, for `project_from_record`.
PROJECT_RECORD = (
    "row(p.id, p.full_path, p.name, p.description, p.visibility::text,"
    " p.created_at::text, p.updated_at::text, p.key)"
)
_VISIBILITIES = {visibility.value: visibility for visibility in Visibility}


_PROJECT = thawed(Project)


def to_project(row: Any) -> Project:
    project = _PROJECT(
        id=row["id"],
        full_path=row["full_path"],
        name=row["name"],
        description=row["description"],
        visibility=Visibility(row["visibility"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        key=row["key"],
    )
    project.__class__ = Project
    return project


def project_from_record(record: Any) -> Project:
    id_, full_path, name, description, visibility, created_at, updated_at, key = record
    project = _PROJECT(
        id_,
        full_path,
        name,
        description,
        _VISIBILITIES[visibility],
        decode_timestamptz(created_at),
        decode_timestamptz(updated_at),
        key,
    )
    project.__class__ = Project
    return project


# The unique index on projects' keys: a taken key, told apart from a taken path.
KEY_INDEX = "projects_key_key"


async def insert_project(
    conn: Any,
    *,
    full_path: str,
    name: str,
    description: str | None,
    visibility: Visibility,
    key: str | None = None,
) -> Project:
    """A new project; without a key, the database derives one from the path."""
    row = await conn.fetchrow(
        f"""
        insert into projects (full_path, name, description, visibility, key)
        values ($1, $2, $3, $4, $5) returning {_COLUMNS}
        """,
        full_path,
        name,
        description,
        visibility.value,
        key,
    )
    return to_project(row)


async def projects_by_ids(conn: Any, ids: list[int]) -> list[Project]:
    rows = await conn.fetch(f"select {_COLUMNS} from projects where id = any($1::bigint[])", ids)
    return [to_project(r) for r in rows]


async def projects_by_paths(conn: Any, paths: list[str]) -> list[Project]:
    rows = await conn.fetch(
        f"select {_COLUMNS} from projects where lower(full_path) = any($1::text[])",
        [p.lower() for p in paths],
    )
    return [to_project(r) for r in rows]


async def projects_by_keys(conn: Any, keys: list[str]) -> list[Project]:
    """Projects by key (keys as stored: upper case)."""
    rows = await conn.fetch(f"select {_COLUMNS} from projects where key = any($1::text[])", keys)
    return [to_project(r) for r in rows]


async def insert_member(conn: Any, project_id: int, user_id: int, role: Role) -> bool:
    """Add a member; False when the user already is one."""
    status: str = await conn.execute(
        """
        insert into project_members (project_id, user_id, role) values ($1, $2, $3)
        on conflict (project_id, user_id) do nothing
        """,
        project_id,
        user_id,
        role.db_value,
    )
    return status.endswith(" 1")


async def member_roles(conn: Any, user_id: int, project_ids: list[int]) -> dict[int, Role]:
    rows = await conn.fetch(
        """
        select project_id, role from project_members
        where user_id = $1 and project_id = any($2::bigint[])
        """,
        user_id,
        project_ids,
    )
    return {r["project_id"]: Role.from_db(r["role"]) for r in rows}


async def member_user_ids(conn: Any, project_id: int, user_ids: list[int]) -> set[int]:
    rows = await conn.fetch(
        "select user_id from project_members where project_id = $1 and user_id = any($2::bigint[])",
        project_id,
        user_ids,
    )
    return {r["user_id"] for r in rows}
