"""``--model owner/name`` for heads published on the Hugging Face hub, against a local server that
answers the hub's file protocol (``tests/hub_server.py``); nothing here reaches the internet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamwatch.errors import ModelError
from streamwatch.models.hub import looks_like_hub_id
from streamwatch.models.transformer_classifier import TransformerClassifier, resolve_spec
from tests.hub_server import FakeHub, HubRepo, fake_hub
from tests.models_support import tiny_converted, tiny_heads_dir

REPO = "acme/chat-heads"


@pytest.fixture(scope="module")
def heads_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    tmp = tmp_path_factory.mktemp("hub")
    heads = tiny_heads_dir(tmp, encoder=str(tiny_converted(tmp)))
    return {p.name: p.read_bytes() for p in heads.iterdir() if p.is_file()}


@pytest.fixture
def hub(
    heads_files: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeHub]:
    from huggingface_hub import constants

    encoder_only = {"config.json": b"{}", "model.safetensors": b"x"}
    no_weights = {k: v for k, v in heads_files.items() if k != "heads.safetensors"}
    with_adapter = dict(heads_files)
    config = json.loads(with_adapter["heads.json"])
    config["adapter"] = "encoder_lora.safetensors"
    with_adapter["heads.json"] = json.dumps(config).encode()
    escaping = dict(heads_files)
    config["adapter"] = "../../outside.safetensors"
    escaping["heads.json"] = json.dumps(config).encode()
    repos = {
        REPO: HubRepo(heads_files),
        "acme/escaping-adapter": HubRepo(escaping),
        "acme/plain-encoder": HubRepo(encoder_only),
        "acme/half-published": HubRepo(no_weights),
        "acme/adapter-missing": HubRepo(with_adapter),
    }
    with fake_hub(repos) as server:
        monkeypatch.setattr(constants, "ENDPOINT", server.endpoint)
        monkeypatch.setattr(
            constants,
            "HUGGINGFACE_CO_URL_TEMPLATE",
            server.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        )
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        yield server


def _file_requests(hub: FakeHub) -> list[tuple[str, str]]:
    """Requests for repository files (the client library also asks the endpoint for its own
    registry of agent harnesses, which is not ours to count)."""
    return [(method, path) for method, path in hub.requests if "/resolve/" in path]


def test_hub_ids_and_local_paths_are_told_apart() -> None:
    assert looks_like_hub_id("acme/chat-heads") and looks_like_hub_id("intfloat/e5.v2_small")
    for spec in ("chat-heads", "./acme/x", "/abs/path", "a/b/c", "acme/..", "~/heads", "a b/c"):
        assert not looks_like_hub_id(spec), spec


def test_published_heads_are_fetched_once_and_then_load_offline(
    hub: FakeHub, heads_files: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    clf = TransformerClassifier.load(REPO)
    assert len(clf.predict(["price pls?", "is it fake"])) == 2
    folder, _ = resolve_spec(REPO)
    assert (folder / "heads.safetensors").read_bytes() == heads_files["heads.safetensors"]
    fetched = {path.rsplit("/", 1)[-1] for method, path in _file_requests(hub) if method == "GET"}
    assert fetched == {"heads.json", "heads.safetensors"}
    # Offline (HF_HUB_OFFLINE=1) the cached copy loads without asking the server.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    asked = len(_file_requests(hub))
    assert len(TransformerClassifier.load(REPO).predict(["ok"])) == 1
    assert len(_file_requests(hub)) == asked


def test_a_repository_without_heads_explains_how_to_train(hub: FakeHub) -> None:
    with pytest.raises(ModelError, match="train_heads"):
        TransformerClassifier.load("acme/plain-encoder")


def test_hub_failures_are_model_errors_that_say_why(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    with pytest.raises(ModelError, match="neither a local folder nor a model"):
        TransformerClassifier.load("acme/no-such-repo")
    with pytest.raises(ModelError, match=r"no heads\.safetensors"):
        TransformerClassifier.load("acme/half-published")
    with pytest.raises(ModelError, match=r"no encoder_lora\.safetensors"):
        TransformerClassifier.load("acme/adapter-missing")
    with pytest.raises(ModelError, match="not a file name next to it"):
        TransformerClassifier.load("acme/escaping-adapter")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        ModelError, match="not a local folder, the Hugging Face hub cannot be reached"
    ):
        TransformerClassifier.load("acme/never-fetched")


def test_classify_command_takes_a_hub_id(hub: FakeHub, tmp_path: Path) -> None:
    chat = tmp_path / "chat.txt"
    chat.write_text("price pls?\n链接呢\n", encoding="utf-8")
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_HUB_CACHE": str(tmp_path / "cli-cache"),
        "HF_HUB_OFFLINE": "0",
        "STREAMWATCH_CACHE_DIR": str(tmp_path / "streamwatch-cache"),  # its dtype choice
    }
    proc = subprocess.run(
        [sys.executable, "-m", "streamwatch.models.classify_command", str(chat), "--model", REPO],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["lang"] for r in records] == ["en", "zh"]
    assert all(r["model"].startswith("heads@") for r in records)
