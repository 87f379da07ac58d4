"""Give freed memory back to the operating system after a heavy request.

Decoding and analysing minutes of audio allocates and frees hundreds of megabytes in
worker threads. glibc keeps freed blocks of its heaps (one arena per thread) for reuse,
so a server's resident memory stays near its peak long after the request. Two glibc
settings fix that, applied at the first heavy call: blocks of :data:`MMAP_THRESHOLD` bytes
or more (a second of audio at 16 kHz is 64 KB; a track's arrays are megabytes) are always
mapped on their own and unmapped when freed (glibc otherwise raises this threshold as
big blocks come and go, and then keeps them in its heaps), and ``malloc_trim(0)`` hands the
remaining free pages back when a heavy facade call ends (:func:`returns_memory`).
Elsewhere (macOS, Windows, musl) this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Allocations of at least this many bytes get their own mapping (glibc ``M_MMAP_THRESHOLD``).
MMAP_THRESHOLD = 4 * 1024 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt parameter number in glibc's malloc.h

_trim: Any = None
_looked = False


def _malloc_trim() -> Any:
    global _trim, _looked
    if not _looked:
        _looked = True
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _trim = getattr(libc, "malloc_trim", None)
                mallopt = getattr(libc, "mallopt", None)
                if (
                    _trim is not None
                    and mallopt is not None
                    and not mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                ):
                    log.debug("mallopt(M_MMAP_THRESHOLD) refused")
            except OSError:  # pragma: no cover - no C library to load
                _trim = None
    return _trim


def release_freed_memory(*, collect: bool = True) -> bool:
    """Collect garbage cycles, then return freed heap pages to the OS (``malloc_trim(0)``).

    Parameters
    ----------
    collect : bool
        Run a full garbage collection first (a few hundred ms with the models loaded;
        arrays held only by reference cycles are freed now rather than at some later
        collection, after the trim).

    Returns
    -------
    bool
        Whether anything could be done (False where the C library has no ``malloc_trim``).
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    if collect:
        gc.collect()
    trim(0)
    return True


#: Calls shorter than this (s) skip the full garbage collection (a refused upload is
#: answered in milliseconds; its collection would cost more than the call).
COLLECT_AFTER_S = 1.0


def returns_memory(fn: Callable[P, T]) -> Callable[P, T]:
    """Decorate a heavy call so that freed memory goes back to the OS when it ends."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        _malloc_trim()  # the allocator settings apply from the first heavy call on
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            release_freed_memory(collect=time.perf_counter() - t0 >= COLLECT_AFTER_S)

    return wrapper
