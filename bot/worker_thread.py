"""Run slow, blocking work (a corpus reload) in its own daemon thread, with a deadline.

``asyncio.to_thread`` uses the loop's default executor, which ``asyncio.run`` joins at shutdown:
work that never returns would keep the process alive after SIGTERM. A daemon thread is left
behind instead, and the caller gets :class:`asyncio.TimeoutError` when the deadline passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller gave up (timeout or cancel)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


async def run_with_deadline(fn: Callable[..., T], *args: Any, timeout: float, name: str = "summitbot-work") -> T:
    """``fn(*args)`` in a new daemon thread; its result, its exception, or TimeoutError after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting task, which decides
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, future, result, error)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await asyncio.wait_for(future, timeout)
