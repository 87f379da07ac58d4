"""The bounded inference pools and the API's size limits.

Model work runs on a thread pool that refuses work (503 with ``Retry-After``) when it
is full instead of queueing without end. The API keeps two: one for audio (voice
messages, music analysis, mixes) and a light one for typed text and catalog look-ups.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from moodtune import config
from moodtune.errors import BusyError, ParameterError

T = TypeVar("T")

#: Largest request body accepted (uploads included), in bytes (``config.limits()``).
MAX_UPLOAD_BYTES = config.limits().upload_bytes
#: Largest JSON body accepted, in bytes.
MAX_JSON_BYTES = config.limits().json_bytes
#: Deepest JSON nesting accepted (request bodies are flat objects).
MAX_JSON_DEPTH = 16
#: Seconds a client is told to wait after a 503.
RETRY_AFTER_S = 2


class InferencePool:
    """A thread pool that refuses work (:class:`BusyError`) when it is full.

    Parameters
    ----------
    max_workers : int
        Threads running model work at once.
    queue : int
        Requests allowed to wait for a thread; one more is refused with a 503.
    """

    def __init__(self, *, max_workers: int = 2, queue: int = 2) -> None:
        if max_workers < 1 or queue < 0:
            raise ParameterError(f"max_workers={max_workers} must be >= 1 and queue={queue} >= 0")
        self.max_workers = max_workers
        self.capacity = max_workers + queue
        self._slots = threading.BoundedSemaphore(self.capacity)
        self._executor: ThreadPoolExecutor | None = None
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.refused = 0

    @property
    def in_flight(self) -> int:
        """Requests admitted and not yet finished."""
        return self._in_flight

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the pool; raise :class:`BusyError` when full."""
        if not self._slots.acquire(blocking=False):
            with self._count_lock:
                self.refused += 1
            raise BusyError(
                f"the server is busy ({self.capacity} requests in progress); "
                f"retry in {RETRY_AFTER_S} s"
            )
        with self._count_lock:
            self._in_flight += 1
        try:
            future = self._start().submit(fn, *args, **kwargs)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _f: self._release())  # released when work ends
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        with self._count_lock:
            self._in_flight -= 1
        self._slots.release()

    def _start(self) -> ThreadPoolExecutor:
        with self._count_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.max_workers, thread_name_prefix="moodtune-infer"
                )
            return self._executor

    def shutdown(self) -> None:
        """Stop the threads (waiting for running work); the next run starts new ones."""
        with self._count_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
