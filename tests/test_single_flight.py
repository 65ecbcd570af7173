"""One load per key at a time; waiters share its value or its error; a cancelled loader hands over."""

from __future__ import annotations

import asyncio

import pytest

from bytespike.single_flight import SingleFlight


async def test_concurrent_callers_share_one_load() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        return 42

    assert await asyncio.gather(*(flight.run("k", load) for _ in range(20))) == [42] * 20
    assert calls == 1 and not flight.is_running("k")
    assert await flight.run("k", load) == 42 and calls == 2  # a later call loads again


async def test_waiters_get_the_loaders_error() -> None:
    flight: SingleFlight[str, int] = SingleFlight()

    async def load() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("database down")

    results = await asyncio.gather(*(flight.run("k", load) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)


async def test_a_cancelled_loader_hands_over_to_a_waiter() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    gate = asyncio.Event()
    loaders: list[str] = []

    def loader(name: str):  # type: ignore[no-untyped-def]
        async def load() -> str:
            loaders.append(name)
            await gate.wait()
            return name

        return load

    first = asyncio.ensure_future(flight.run("k", loader("first")))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(flight.run("k", loader("second")))
    await asyncio.sleep(0.01)
    first.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    assert await second == "second" and loaders == ["first", "second"]
    with pytest.raises(asyncio.CancelledError):
        await first
