"""Checks on text and numbers that arrive from clients, shared by every write path."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from issuegraph.domain.errors import bad_input

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

# C0 controls other than tab/newline/carriage return (NUL among them, which PostgreSQL
# refuses in text), DEL, and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Half of a UTF-16 surrogate pair: JSON can carry one ("\ud800"), UTF-8 cannot encode it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LINE_BREAK = re.compile(r"[\r\n\t]")
USERNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")
FULL_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$")
# A project key as stored (the database's check says the same): Jira's KEY of KEY-123.
PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{1,9}$")

MAX_TITLE = 255
MAX_NAME = 255
MAX_DESCRIPTION = 1_048_576
MAX_LABELS = 100
MAX_LABEL = 255
MAX_WEIGHT = 1_000_000
# Ids are PostgreSQL bigints: a larger number names nothing (and asyncpg cannot send it).
MAX_DATABASE_ID = 2**63 - 1


def can_name_a_row(key: str | int) -> bool:
    """Whether a lookup key could match a stored row: an id within bigint range, or text
    PostgreSQL can hold (no NUL, no unpaired surrogate). A key that cannot is simply
    missing; callers answer null or NOT_FOUND without asking the database."""
    if isinstance(key, int):
        return 0 < key <= MAX_DATABASE_ID
    return "\x00" not in key and not _SURROGATE.search(key)


def single_line(value: str, field: str, *, max_length: int, path: Sequence[str | int]) -> str:
    """A trimmed one-line text: no control characters, 1..max_length characters."""
    text = value.strip()
    if not text:
        raise bad_input(f"{field} must not be blank", path)
    if _CONTROL.search(text) or _LINE_BREAK.search(text):
        raise bad_input(f"{field} must not contain control characters or line breaks", path)
    _check_encodable(text, field, path)
    if len(text) > max_length:
        raise bad_input(
            f"{field} is too long ({len(text)} characters, at most {max_length})",
            path,
            maxLength=max_length,
        )
    return text


def multi_line(
    value: str | None, field: str, *, max_length: int, path: Sequence[str | int]
) -> str | None:
    """Free text (a description, a comment): line breaks allowed, other controls not."""
    if value is None:
        return None
    if _CONTROL.search(value):
        raise bad_input(f"{field} must not contain control characters", path)
    _check_encodable(value, field, path)
    if len(value) > max_length:
        raise bad_input(
            f"{field} is too long ({len(value)} characters, at most {max_length})",
            path,
            maxLength=max_length,
        )
    return value


def _check_encodable(text: str, field: str, path: Sequence[str | int]) -> None:
    if _SURROGATE.search(text):
        raise bad_input(f"{field} must be valid Unicode (it holds an unpaired surrogate)", path)


def labels(values: Iterable[str], path: list[str]) -> list[str]:
    """Trimmed, de-duplicated case-insensitively (first spelling wins), in the given order."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in values:
        label = single_line(raw, "A label", max_length=MAX_LABEL, path=path)
        if "," in label:
            raise bad_input(f"Label {label!r} must not contain a comma", path)
        if label.lower() not in seen:
            seen.add(label.lower())
            result.append(label)
    if len(result) > MAX_LABELS:
        raise bad_input(f"An issue has at most {MAX_LABELS} labels", path)
    return result


def username(value: str, path: list[str]) -> str:
    if not USERNAME.match(value):
        raise bad_input(
            "A username is 1-255 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
            path,
        )
    return value


def full_path(value: str, path: list[str]) -> str:
    value = value.strip().strip("/")
    if len(value) > MAX_NAME or not FULL_PATH.match(value):
        raise bad_input(
            "A project path is up to 255 characters of segments separated by '/', each made "
            "of letters, digits, '_', '.' or '-' and not starting with '.' or '-'",
            path,
        )
    if value.isdecimal():
        raise bad_input("A project path must not be a number (numbers are project ids)", path)
    return value


def project_key(value: str, path: list[str]) -> str:
    """A project key as given (any case), upper-cased."""
    key = value.strip().upper()
    if not PROJECT_KEY.match(key):
        raise bad_input(
            "A project key is 2-10 letters, digits or '_', starting with a letter", path
        )
    return key


def weight(value: int | None, path: list[str]) -> int | None:
    if value is not None and not 0 <= value <= MAX_WEIGHT:
        raise bad_input(f"weight must be between 0 and {MAX_WEIGHT}", path)
    return value
