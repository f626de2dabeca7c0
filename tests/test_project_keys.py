"""Project keys (Jira's KEY of KEY-123): derived from the path by default, settable, unique."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from issuegraph.models import Visibility
from tests.helpers import Api, World

CREATE = """mutation($input: CreateProjectInput!) { createProject(input: $input) {
  errors { code path message } project { fullPath key } } }"""


async def test_keys_are_derived_from_the_last_path_segment_and_numbered_when_taken(world: World):
    owner = await world.user("owner")
    paths = ["acme/web", "other/web", "x/web", "g/my-app.v2", "g/9lives", "g/x", "g/_1"]
    keys = [(await world.project(owner, path)).key for path in paths]
    assert keys == ["WEB", "WEB2", "WEB3", "MYAPPV2", "LIVES", "XP", "PROJECT"]


async def test_a_long_segment_is_cut_to_ten_and_numbers_replace_its_end(world: World):
    owner = await world.user("owner")
    first = await world.project(owner, "a/abcdefghijklmnop")
    second = await world.project(owner, "b/abcdefghijklmnop")
    assert (first.key, second.key) == ("ABCDEFGHIJ", "ABCDEFGHI2")


async def test_concurrent_projects_of_the_same_name_get_distinct_keys(world: World):
    owner = await world.user("owner")
    made = await asyncio.gather(*(world.project(owner, f"g{n}/web") for n in range(8)))
    assert sorted(p.key for p in made) == sorted(["WEB", *(f"WEB{n}" for n in range(2, 9))])


async def test_create_project_takes_a_key_in_any_case_and_refuses_a_taken_or_bad_one(
    api: Api, world: World
):
    _, token = await world.user_with_token("owner")
    made = await api.mutate(
        "createProject", {"fullPath": "acme/web", "key": "acmw"}, "project { key }", token=token
    )
    assert made["project"] == {"key": "ACMW"}
    taken = await api.mutate(
        "createProject", {"fullPath": "acme/two", "key": "ACMW"}, "project { key }", token=token
    )
    assert [(e["code"], e["path"]) for e in taken["errors"]] == [("CONFLICT", ["input", "key"])]
    for bad in ["1AB", "A", "ABCDEFGHIJK", "A-B", "", "A\u0000B"]:
        refused = await api.mutate(
            "createProject", {"fullPath": "acme/three", "key": bad}, "project { key }", token=token
        )
        assert [(e["code"], e["path"]) for e in refused["errors"]] == [
            ("BAD_USER_INPUT", ["input", "key"])
        ], bad
    derived = await api.mutate(
        "createProject", {"fullPath": "acme/three"}, "project { key }", token=token
    )
    assert derived["project"] == {"key": "THREE"}
    read = await api.gql('{ project(fullPath: "acme/web") { key } }', token=token)
    assert read.data == {"project": {"key": "ACMW"}}


async def test_the_database_holds_keys_unique_and_well_formed(pool: asyncpg.Pool, world: World):
    owner = await world.user("owner")
    await world.project(owner, "acme/web", Visibility.PUBLIC)
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute("insert into projects (full_path, name, key) values ('b/c', 'C', 'WEB')")
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("insert into projects (full_path, name, key) values ('b/d', 'D', 'w')")
