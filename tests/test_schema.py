from __future__ import annotations

from pathlib import Path

from issuegraph.api import schema

SNAPSHOT = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_schema_matches_committed_snapshot():
    """The committed SDL is the API contract; change it on purpose with `make schema`."""
    committed = SNAPSHOT.read_text(encoding="utf-8")
    current = schema.as_str() + "\n"
    assert current == committed, (
        "The schema drifted from schema.graphql. If the change is intended, run `make schema` "
        "and commit the result."
    )
