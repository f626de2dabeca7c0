"""The declared dependencies, the lock file and an installed environment, side by side.

    python tools/deps.py names            every declared requirement by name, without its
                                          version bounds: the input of `make test-latest`
    python tools/deps.py check LOCK [EXTRA ...]
                                          fails unless every distribution that issuegraph
                                          (with those extras) needs here is installed at
                                          the version LOCK gives it, and every other
                                          distribution LOCK names is absent or at its
                                          version (`make install-serve`: no extras;
                                          `make install`: test bench)
    python tools/deps.py compare LOCK     LOCK's version and the installed one of each
                                          distribution, declared ones first (`make test-latest`)

`names` reads pyproject.toml with the standard library only (it runs on the system Python);
`check` and `compare` run on a virtualenv's Python, with issuegraph and `packaging` installed.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("test", "bench")
# A requirement's name and extras, before its version bounds and environment marker.
NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def names() -> list[str]:
    """Runtime and extras' requirements as `name[extras]; marker`: no version bounds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        declared.extend(extra)
    seen: dict[str, str] = {}
    for requirement in declared:
        match = NAME.match(requirement)
        if match is None:
            sys.exit(f"pyproject.toml: cannot read the requirement {requirement!r}")
        name, extras = match.group(1), match.group(2) or ""
        _, _, marker = requirement.partition(";")
        seen.setdefault(normalize(name), name + extras + (f"; {marker.strip()}" if marker else ""))
    return list(seen.values())


def locked(lock: Path) -> dict[str, str]:
    """`name==version` lines of a compiled requirements file."""
    pins = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def needed(extras: tuple[str, ...] = EXTRAS) -> Iterator[tuple[str, bool]]:
    """Each distribution that issuegraph[extras] needs here (markers evaluated on this
    Python), from the installed metadata, with whether pyproject.toml names it."""
    from packaging.requirements import Requirement  # noqa: PLC0415  (a venv's, not the system's)

    todo = [("issuegraph", extra) for extra in ("", *extras)]
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


def check(lock: Path, extras: tuple[str, ...]) -> int:
    unknown = sorted(set(extras) - set(EXTRAS))
    if unknown:
        print(
            f"no such extra: {', '.join(unknown)} (there are {', '.join(EXTRAS)})", file=sys.stderr
        )
        return 2
    pins = locked(lock)
    wrong = []
    required = dict.fromkeys(name for name, _ in needed(extras))
    for name in required:
        have, want = installed(name), pins.get(name)
        if have is None or have != want:
            wrong.append(f"  {name}: installed {have or '-'}, {lock.name} {want or '-'}")
    # What else is here (an extra's packages left from a fuller install) is at the lock's
    # version too, or absent.
    for name, want in pins.items():
        have = installed(name)
        if name not in required and have is not None and have != want:
            wrong.append(f"  {name}: installed {have}, {lock.name} {want}")
    if wrong:
        hint = "pyproject.toml changed without `make lock`? run it, then `make install`"
        print(f"installed, but not as {lock.name} says:", *wrong, hint, sep="\n", file=sys.stderr)
        return 1
    return 0


def compare(lock: Path) -> int:
    from packaging.version import Version  # noqa: PLC0415  (a venv's, not the system's)

    pins = locked(lock)
    rows: dict[str, bool] = {}
    for name, declared in needed():
        rows.setdefault(name, declared)
    for name in pins:
        rows.setdefault(name, False)
    width = max(map(len, rows))
    print(f"{'package':{width}}  {'locked':>12}  {'here':>12}")
    notes: dict[str, int] = {}
    for name, declared in sorted(rows.items(), key=lambda row: (not row[1], row[0])):
        pin, have = pins.get(name), installed(name)
        note = ""
        if pin and have and pin != have:
            note = "newer" if Version(have) > Version(pin) else "older"
        elif pin != have:
            note = "not locked" if have else "not installed"
        notes[note] = notes.get(note, 0) + 1
        star = "*" if declared else " "
        print(f"{name:{width}}  {pin or '-':>12}  {have or '-':>12}  {star} {note}".rstrip())
    counts = ", ".join(f"{n} {note or 'as locked'}" for note, n in sorted(notes.items()))
    print(f"(* declared in pyproject.toml) {counts}")
    return 0


def main(argv: list[str]) -> int:
    match argv:
        case ["names"]:
            print(*names(), sep="\n")
            return 0
        case ["check", lock, *extras]:
            return check(Path(lock), tuple(extras))
        case ["compare", lock]:
            return compare(Path(lock))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
