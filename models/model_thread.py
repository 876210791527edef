"""One thread for all of a process's model work: building, warming up and running the encoder.

The CPU build of torch parallelises each operation with GNU OpenMP, which keeps one team of
worker threads for every thread that starts parallel work. When a model is built on one thread
and run on another (the CLI loads it on the main thread; the pipeline classifies from a worker
thread), two teams exist. libgomp then manages more threads than there are cores and stops
spinning between parallel regions: every layer waits for its workers to wake up. On a 2-core
CPU that cost 15-40 % of the classifier's speed (one core in four idle: CPU time over wall
time 1.55 instead of 1.9), whichever thread called ``predict`` once two teams existed.

:func:`on_model_thread` runs a call on one long-lived thread of the process, so there is one
team whoever calls: the main thread, the pipeline's worker thread or the TUI. A call made from
that thread itself runs directly (no deadlock when model code calls model code). A process
forked after the thread started gets a new model thread of its own on its first call.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

THREAD_NAME = "streamwatch-model"

_P = ParamSpec("_P")
_T = TypeVar("_T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_ident: int | None = None


def _forget_after_fork() -> None:
    """In a forked child the model thread does not exist: start a new one when needed."""
    global _lock, _executor, _ident
    _lock = threading.Lock()
    _executor = None
    _ident = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _remember_ident() -> None:
    global _ident
    _ident = threading.get_ident()


def _model_executor() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME)
            executor.submit(_remember_ident).result()
            _executor = executor
        return _executor


def on_model_thread(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``fn(*args, **kwargs)`` run on the model thread; its result or its exception."""
    if threading.get_ident() == _ident:
        return fn(*args, **kwargs)
    return _model_executor().submit(fn, *args, **kwargs).result()


def runs_on_model_thread(fn: Callable[_P, _T]) -> Callable[_P, _T]:
    """Decorator: every call of ``fn`` runs on the model thread (``fn.__wrapped__`` does not)."""

    @functools.wraps(fn)
    def on_thread(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return on_model_thread(fn, *args, **kwargs)

    return on_thread
