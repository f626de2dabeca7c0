"""The generated executor runs only on the library versions it is built for.

The fast path is on for the installed strawberry-graphql and graphql-core; with any other
version `FastExecutor` is Strawberry's stock executor, and says so once. An executor that
notes every field graphql-core resolves (`execute_field`) or completes (`complete_value`)
shows which path each field took.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import strawberry

from issuegraph.schema import execution
from issuegraph.schema.execution import FastExecutor


class Recording(FastExecutor):
    """FastExecutor, noting each field that graphql-core's per-field path resolves
    (`execute_field`) or completes (`complete_value`) as "Type.field"."""

    generic: ClassVar[set[str]] = set()

    def execute_field(self, parent_type, source, field_details_list, path, position_context):
        self.generic.add(f"{parent_type.name}.{field_details_list[0].node.name.value}")
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def complete_value(self, return_type, field_details_list, info, path, result, context):  # noqa: PLR0917
        self.generic.add(f"{info.parent_type.name}.{info.field_name}")
        return super().complete_value(return_type, field_details_list, info, path, result, context)


def test_fast_path_is_enabled_for_the_installed_libraries():
    assert execution.installed_versions() == execution.SUPPORTED
    assert execution.FAST_PATH_ENABLED, execution.FAST_PATH_REASON


def test_other_versions_turn_the_fast_path_off():
    on, reason = execution.fast_path_state(
        {"strawberry-graphql": "0.342.0", "graphql-core": "3.3.2"}
    )
    assert not on
    assert reason == (
        "the generated executor supports strawberry-graphql 0.341.2 and graphql-core 3.3.2; "
        "installed strawberry-graphql 0.342.0, graphql-core 3.3.2; running the stock executor"
    )
    assert not execution.fast_path_state({"strawberry-graphql": "0.341.2", "graphql-core": None})[0]


@strawberry.type
class Pair:
    left: str
    right: int


@strawberry.type
class PairQuery:
    @strawberry.field
    def pairs(self) -> list[Pair]:
        return [Pair(left="a", right=1), Pair(left="b", right=2)]


PAIRS = strawberry.Schema(query=PairQuery, execution_context_class=Recording)


async def test_with_the_fast_path_off_it_is_the_stock_executor(monkeypatch, caplog):
    off, reason = execution.fast_path_state({"strawberry-graphql": "1.0", "graphql-core": "3.3.2"})
    monkeypatch.setattr(execution, "FAST_PATH_ENABLED", off)
    monkeypatch.setattr(execution, "FAST_PATH_REASON", reason)
    execution._warn_stock.cache_clear()
    Recording.generic.clear()
    with caplog.at_level(logging.WARNING, logger=execution.__name__):
        for _ in range(2):
            result = await PAIRS.execute("{ pairs { left right __typename } }")
            assert not result.errors
            assert result.data == {
                "pairs": [
                    {"left": "a", "right": 1, "__typename": "Pair"},
                    {"left": "b", "right": 2, "__typename": "Pair"},
                ]
            }
    execution._warn_stock.cache_clear()
    assert Recording.generic == {"PairQuery.pairs", "Pair.left", "Pair.right", "Pair.__typename"}
    assert [r.getMessage() for r in caplog.records] == [reason]
    # and on again, the generated code answers them
    monkeypatch.setattr(execution, "FAST_PATH_ENABLED", True)
    Recording.generic.clear()
    assert not (await PAIRS.execute("{ pairs { left right __typename } }")).errors
    assert Recording.generic == set()
