"""The model thread: every build and every prediction runs on one thread of the process."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from streamwatch.errors import ModelError
from streamwatch.models import model_thread
from streamwatch.models.encoder import Encoder, EncoderOptions
from streamwatch.models.model_thread import on_model_thread
from streamwatch.models.transformer_classifier import TransformerClassifier
from tests.models_support import tiny_converted, tiny_heads_dir


def _thread_name() -> str:
    return threading.current_thread().name


def test_calls_from_any_thread_run_on_the_same_model_thread() -> None:
    from_main = on_model_thread(threading.get_ident)
    with ThreadPoolExecutor(4) as pool:
        from_workers = set(pool.map(lambda _: on_model_thread(threading.get_ident), range(16)))
    assert from_workers == {from_main} and from_main != threading.get_ident()
    assert on_model_thread(_thread_name).startswith(model_thread.THREAD_NAME)
    assert not _thread_name().startswith(model_thread.THREAD_NAME)


def test_a_call_from_the_model_thread_runs_directly_and_exceptions_reach_the_caller() -> None:
    def nested() -> int:
        return on_model_thread(threading.get_ident)  # would deadlock if it were queued

    assert on_model_thread(nested) == on_model_thread(threading.get_ident)

    def fails() -> None:
        raise ModelError("broken weights")

    with pytest.raises(ModelError, match="broken weights"):
        on_model_thread(fails)
    assert on_model_thread(lambda x, *, y: x + y, 2, y=3) == 5  # still serving after a failure


def test_classifier_builds_and_predicts_on_the_model_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = tiny_heads_dir(tmp_path, encoder=str(tiny_converted(tmp_path)))
    seen: list[str] = []
    real_load = Encoder.load.__func__  # type: ignore[attr-defined]

    def load(cls: type[Encoder], options: EncoderOptions) -> Encoder:
        seen.append(_thread_name())
        return real_load(cls, options)  # type: ignore[no-any-return]

    monkeypatch.setattr(Encoder, "load", classmethod(load))
    clf = TransformerClassifier.load(str(model_dir), cache_size=10)
    real_embed = clf.encoder.embed

    def embed(texts: list[str]) -> object:
        seen.append(_thread_name())
        return real_embed(texts)

    monkeypatch.setattr(clf.encoder, "embed", embed)
    assert clf.embed(["price pls"]).shape[0] == 1
    alone = clf.predict(["price pls", "is it real leather"])
    clf.clear_cache()
    with ThreadPoolExecutor(3) as pool:
        together = list(pool.map(clf.predict, [["price pls"], ["is it real leather"]] * 3))
    assert len(seen) >= 4 and all(name.startswith(model_thread.THREAD_NAME) for name in seen)
    assert [r[0] for r in together[:2]] == alone  # served one at a time, same answers


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_model_thread() -> None:
    parent_thread = on_model_thread(threading.get_ident)
    pid = os.fork()
    if pid == 0:  # the child: the parent's model thread does not exist here
        ok = False
        try:
            box: list[int] = []
            caller = threading.Thread(target=lambda: box.append(on_model_thread(lambda: 42)))
            caller.start()
            caller.join(timeout=10)
            ok = box == [42] and on_model_thread(_thread_name).startswith(model_thread.THREAD_NAME)
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 30
    while (waited := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if waited[0] == 0:  # the child hangs waiting for a thread it does not have
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's call to the model thread never returned")
    assert os.waitstatus_to_exitcode(waited[1]) == 0
    assert on_model_thread(threading.get_ident) == parent_thread
