"""`loaders.Loader` keeps one object made of each loaded value; what it keeps must follow
the loader's cache through priming and clearing, never answer a value `load` would not."""

from __future__ import annotations

from collections.abc import Sequence

from issuegraph.loaders import MISSING, Loader, _each


class Made:
    """A stand-in for the schema object made of a value."""

    def __init__(self, value: str) -> None:
        self.value = value


async def _values(keys: Sequence[int]) -> list[str]:
    return [f"loaded {key}" for key in keys]


def _make(value: str) -> Made:
    return Made(value)


def _value_of(made: object) -> str:
    assert isinstance(made, Made)
    return made.value


async def test_made_is_one_object_per_key_once_loaded() -> None:
    loader = Loader[int, str](_values)
    assert loader.made(1) is MISSING
    assert loader.make(1, _make) is MISSING  # not loaded yet
    await loader.load_many([1, 2])
    made = loader.make(1, _make)
    assert _value_of(made) == "loaded 1"
    assert loader.made(1) is made
    assert loader.made(2) is MISSING  # made only when asked for


async def test_priming_over_a_key_or_clearing_it_drops_what_was_made() -> None:
    loader = Loader[int, str](_values)
    await loader.load_many([1, 2, 3])
    for key in (1, 2, 3):
        loader.make(key, _make)

    loader.prime(1, "primed 1")  # not forced: the loaded value stays, and so does its object
    assert _value_of(loader.made(1)) == "loaded 1"
    loader.prime(1, "primed 1", force=True)
    assert loader.made(1) is MISSING
    assert _value_of(loader.make(1, _make)) == "primed 1"

    loader.clear(2)
    assert loader.made(2) is MISSING
    assert loader.make(2, _make) is MISSING  # cleared: `load` would load it again
    loader.clear_many([3])
    assert loader.made(3) is MISSING

    await loader.load(2)
    loader.make(2, _make)
    loader.clear_all()
    assert loader.made(1) is MISSING
    assert loader.made(2) is MISSING


async def test_each_answers_in_order_and_leaves_no_failure_unretrieved() -> None:
    loader = Loader[int, str](_values)
    assert await _each([loader.load(3), loader.load(1), loader.load(2)]) == [
        "loaded 3",
        "loaded 1",
        "loaded 2",
    ]

    async def failing(keys: Sequence[int]) -> list[str]:
        raise RuntimeError(f"batch {list(keys)} failed")

    broken = Loader[int, str](failing)
    futures = [broken.load(key) for key in (1, 2, 3)]
    try:
        await _each(futures)
    except RuntimeError as error:
        message = str(error)
    assert message == "batch [1, 2, 3] failed"
    # asyncio logs "exception was never retrieved" for a future still so marked when it
    # goes; `_each` has retrieved every one, as a gather does.
    assert [f._log_traceback for f in futures] == [False, False, False]  # type: ignore[attr-defined]
