"""Classifier heads published on the Hugging Face hub.

A model folder written by ``train_heads`` or ``finetune`` (``heads.json``, ``heads.safetensors``
and, for a fine-tune, its LoRA adapter) can be uploaded to a hub repository as it is; users who
are online then name the repository (``--model acme/streamwatch-heads``) instead of a folder.
:func:`fetch_heads` downloads those files once, all from the same commit, into the hub's own
cache (``HF_HUB_CACHE``; ``HF_HUB_OFFLINE=1`` then loads them without a network), with
``huggingface_hub``: it already handles the hub's protocol, authentication (``HF_TOKEN``, never
logged here), redirects, resumable downloads and the cache layout that transformers shares.

The encoder such heads name must be the default one or a hub id of its own: only the heads'
files are fetched, so an encoder folder inside the repository would not be (publish the encoder
as its own repository).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from streamwatch.errors import ModelError
from streamwatch.models.heads import HEADS_CONFIG_FILE, HEADS_WEIGHTS_FILE

HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
"""``owner/name``: what a model spec that is not a local folder must look like to be fetched."""


def looks_like_hub_id(spec: str) -> bool:
    return HUB_ID.fullmatch(spec) is not None and ".." not in spec


def fetch_heads(repo_id: str) -> Path | None:
    """The local folder holding the heads of hub repository ``repo_id``, downloaded on first use;
    ``None`` when the repository exists but holds no ``heads.json`` (a plain encoder).

    Raises :class:`ModelError` when the repository does not exist (or is private without a
    token), when the hub cannot be reached and nothing is cached, or when files are missing."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    def download(filename: str, revision: str | None = None) -> Path:
        try:
            return Path(hf_hub_download(repo_id, filename, revision=revision))
        except LocalEntryNotFoundError as exc:
            raise ModelError(
                f"{repo_id!r} is not a local folder, the Hugging Face hub cannot be reached for "
                f"it and its {filename} is not in the local hub cache; offline, use the default "
                "model or a local folder (HF_HUB_OFFLINE=1 skips the network retries)"
            ) from exc
        except RepositoryNotFoundError as exc:
            raise ModelError(
                f"{repo_id!r} is neither a local folder nor a model on the Hugging Face hub (a "
                "private repository needs a token: `hf auth login` or HF_TOKEN)"
            ) from exc
        except EntryNotFoundError:
            raise
        except (HfHubHTTPError, OSError, ValueError) as exc:
            raise ModelError(
                f"cannot fetch {filename} of {repo_id!r} from the Hugging Face hub: "
                f"{type(exc).__name__}"
            ) from exc

    try:
        config_path = download(HEADS_CONFIG_FILE)
    except EntryNotFoundError:
        return None
    folder = config_path.parent
    commit = folder.name  # snapshots/<commit>/heads.json: fetch the rest from that commit
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{HEADS_CONFIG_FILE} of {repo_id!r} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise ModelError(f"{HEADS_CONFIG_FILE} of {repo_id!r} is not a JSON object")
    wanted = [HEADS_WEIGHTS_FILE]
    adapter = config.get("adapter")
    if isinstance(adapter, str) and adapter:
        if Path(adapter).name != adapter or adapter in (".", ".."):
            # heads.json names its adapter as a file next to it; a path could reach outside
            raise ModelError(
                f"{HEADS_CONFIG_FILE} of {repo_id!r} names adapter {adapter!r}, which is not a "
                "file name next to it"
            )
        wanted.append(adapter)
    for filename in wanted:
        try:
            download(filename, revision=commit)
        except EntryNotFoundError as exc:
            raise ModelError(f"{repo_id!r} has {HEADS_CONFIG_FILE} but no {filename}") from exc
    return folder
