"""Reading ids that clients send: global ids, or the numeric ids REST clients hold."""

from __future__ import annotations

from strawberry import relay

from issuegraph.domain.errors import bad_input


def parse_global_id(value: str, field: str) -> tuple[str, int]:
    """(type name, numeric id) of a global id; BAD_USER_INPUT when it is not one."""
    try:
        gid = relay.GlobalID.from_id(value)
        return gid.type_name, int(gid.node_id)
    except ValueError:
        raise bad_input(f"{value!r} is not a valid global id", [field]) from None


def parse_id_of(type_name: str, value: str, field: str) -> int:
    """The numeric id of a `type_name`, given as its global id or as its number."""
    text = value.strip()
    if text.isdecimal():
        return int(text)
    found_type, pk = parse_global_id(text, field)
    if found_type != type_name:
        raise bad_input(f"{value!r} is the id of a {found_type}, not of a {type_name}", [field])
    return pk
