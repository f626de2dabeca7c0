"""The lock file and an installed environment, side by side.

    python tools/deps.py check LOCK       fails unless every distribution that
                                          issuegraph[test,bench] needs here is installed at
                                          the version LOCK gives it (`make install`)

It runs on a virtualenv's Python, with issuegraph and `packaging` installed.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

EXTRAS = ("test", "bench")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, str]:
    """`name==version` lines of a compiled requirements file."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def needed() -> Iterator[tuple[str, bool]]:
    """Each distribution that issuegraph[test,bench] needs here (markers evaluated on this
    Python), from the installed metadata, with whether pyproject.toml names it."""
    from packaging.requirements import Requirement  # noqa: PLC0415  (a venv's, not the system's)

    todo = [("issuegraph", extra) for extra in ("", *EXTRAS)]
    visited = set(todo)
    named = {"issuegraph"}
    while todo:
        dist_name, extra = todo.pop()
        for line in metadata.requires(dist_name) or ():
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
                continue
            name = normalize(requirement.name)
            if dist_name == "issuegraph" or name not in named:
                yield name, dist_name == "issuegraph"
            named.add(name)
            for wanted in ("", *sorted(requirement.extras)):
                if (name, wanted) not in visited:
                    visited.add((name, wanted))
                    todo.append((name, wanted))


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check(lock: Path) -> int:
    pins = locked(lock)
    wrong = []
    for name in dict.fromkeys(name for name, _ in needed()):
        have, want = installed(name), pins.get(name)
        if have is None or have != want:
            wrong.append(f"  {name}: installed {have or '-'}, {lock.name} {want or '-'}")
    if wrong:
        hint = "pyproject.toml changed without `make lock`? run it, then `make install`"
        print(f"installed, but not as {lock.name} says:", *wrong, hint, sep="\n", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str]) -> int:
    match argv:
        case ["check", lock]:
            return check(Path(lock))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
