"""`loaders.Loader`: one batch call per tick, failures and cancellation kept to their callers,
priming and clearing over batches on their way; and the one object made of each loaded value,
which must follow the cache through priming and clearing, never answer a value `load` would not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

import pytest

from issuegraph.loaders import MISSING, Loader

R = TypeVar("R")


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
    assert loader.make(1, _make) is made  # made once
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


class Recorder:
    """A batch function that records the keys of each call."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.fail = fail

    async def __call__(self, keys: Sequence[int]) -> list[str]:
        self.calls.append(list(keys))
        if self.fail:
            raise RuntimeError(f"batch {list(keys)} failed")
        return [f"loaded {key}" for key in keys]


async def test_keys_asked_in_one_tick_are_one_call_and_answered_in_order() -> None:
    batch = Recorder()
    loader = Loader[int, str](batch)
    one, many, again = loader.load(3), loader.load_many([1, 3, 2, 1]), loader.load(2)
    assert await many == ["loaded 1", "loaded 3", "loaded 2", "loaded 1"]
    assert await one == "loaded 3"
    assert await again == "loaded 2"
    assert batch.calls == [[3, 1, 2]]
    # Loaded: answered from the cache, no call; a new key is a new call.
    assert await loader.load_many([2, 3]) == ["loaded 2", "loaded 3"]
    assert await loader.load(4) == "loaded 4"
    assert batch.calls == [[3, 1, 2], [4]]
    assert loader.peek(4) == "loaded 4"
    assert loader.peek(5) is MISSING


async def test_a_failed_batch_fails_each_key_again_without_another_call() -> None:
    batch = Recorder(fail=True)
    loader = Loader[int, str](batch)
    first, second = loader.load(1), loader.load_many([1, 2])
    for answer in (first, second):
        with pytest.raises(RuntimeError, match=r"batch \[1, 2\] failed"):
            await answer
    # Asked for again once failed: the same failure, no second statement.
    with pytest.raises(RuntimeError, match=r"batch \[1, 2\] failed"):
        await loader.load(2)
    assert batch.calls == [[1, 2]]
    assert loader.peek(1) is MISSING
    loader.clear(1)  # cleared: asked for again
    with pytest.raises(RuntimeError, match=r"batch \[1\] failed"):
        await loader.load(1)
    assert batch.calls == [[1, 2], [1]]


async def test_a_batch_that_answers_too_few_values_fails() -> None:
    async def short(keys: Sequence[int]) -> list[str]:
        return ["one"]

    loader = Loader[int, str](short)
    with pytest.raises(ValueError, match="answered 1 values for 2 keys"):
        await loader.load_many([1, 2])


async def test_a_cancelled_caller_cancels_nobody_else_and_the_last_one_the_batch() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    cancelled: list[list[int]] = []

    async def slow(keys: Sequence[int]) -> list[str]:
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled.append(list(keys))
            raise
        return [f"loaded {key}" for key in keys]

    loader = Loader[int, str](slow)
    first = asyncio.ensure_future(_awaited(loader.load(1)))
    second = asyncio.ensure_future(_awaited(loader.load_many([1, 2])))
    await started.wait()
    first.cancel()
    await asyncio.sleep(0)
    release.set()
    assert await second == ["loaded 1", "loaded 2"]
    assert first.cancelled()
    assert cancelled == []

    # Every caller of a batch on its way cancelled: so is the batch (and its statement).
    started.clear()
    release.clear()
    only = asyncio.ensure_future(_awaited(loader.load_many([3, 4])))
    await started.wait()
    only.cancel()
    await asyncio.sleep(0.01)
    assert cancelled == [[3, 4]]
    # Nothing of it was kept: the keys load again.
    release.set()
    assert await loader.load(3) == "loaded 3"


async def _awaited(answer: Awaitable[R]) -> R:
    return await answer


async def test_priming_or_clearing_a_key_on_its_way_keeps_that_answer_out() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(keys: Sequence[int]) -> list[str]:
        started.set()
        await release.wait()
        return [f"loaded {key}" for key in keys]

    loader = Loader[int, str](slow)
    answer = asyncio.ensure_future(_awaited(loader.load_many([1, 2, 3])))
    await started.wait()
    loader.prime(1, "primed 1", force=True)
    loader.clear(2)
    loader.prime(3, "primed 3")  # not forced: a value loaded or on its way... stays first
    release.set()
    # The caller gets what the batch loaded; the cache keeps the primed value, and the
    # cleared key is loaded again when asked for.
    assert await answer == ["loaded 1", "loaded 2", "loaded 3"]
    assert loader.peek(1) == "primed 1"
    assert loader.peek(2) is MISSING
    assert loader.peek(3) == "primed 3"


async def test_a_key_primed_before_its_batch_goes_is_not_asked_for() -> None:
    batch = Recorder()
    loader = Loader[int, str](batch)
    answer = loader.load_many([1, 2])
    loader.prime(2, "primed 2")
    assert await answer == ["loaded 1", "primed 2"]
    assert batch.calls == [[1]]
    loader.prime(1, "primed 1")  # loaded already: not forced, it stays
    assert loader.peek(1) == "loaded 1"


async def test_a_closed_loader_forgets_its_values_and_loads_nothing_more() -> None:
    asked: list[list[int]] = []

    async def values(keys: list[int]) -> list[str]:
        asked.append(keys)
        return [f"loaded {key}" for key in keys]

    loader = Loader[int, str](values)
    assert await loader.load(1) == "loaded 1"
    loader.close()
    assert loader.peek(1) is MISSING
    with pytest.raises(RuntimeError, match="closed"):
        await loader.load(1)
    assert asked == [[1]]
