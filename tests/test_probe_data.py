"""The short-distrust probe set: composition, never trained on, loadable by ``evaluate``."""

from __future__ import annotations

import json
from importlib.resources import files

from streamwatch.models import evaluate
from streamwatch.models.training.build_dataset import HANDWRITTEN_SETS
from streamwatch.models.training.handwritten_data import (
    DATA_DIR,
    LANGS,
    PROBES_DIR,
    load_handwritten,
    normalise_text,
)

PROBE = load_handwritten(data_dir=PROBES_DIR / "short_distrust")


def _strip(text: str) -> str:
    return "".join(ch for ch in normalise_text(text) if ch.isalnum())


def test_every_language_has_plain_messages_and_accusations() -> None:
    assert len(PROBE) == 77 and sum(r.distrust for r in PROBE) == 29
    for lang in LANGS:
        rows = [r for r in PROBE if r.lang == lang]
        assert len(rows) >= 5 and 1 <= sum(r.distrust for r in rows) < len(rows), lang
    assert all(r.split == "test" for r in PROBE)
    assert all(len(r.text.split()) <= 7 and len(r.text) <= 40 for r in PROBE)


def test_no_training_row_equals_a_probe_row() -> None:
    probe = {(r.lang, _strip(r.text)) for r in PROBE}
    training = load_handwritten() + load_handwritten(data_dir=DATA_DIR.with_name("stream_chat"))
    assert [r.text for r in training if (r.lang, _strip(r.text)) in probe] == []


def test_no_probe_row_is_a_line_of_the_demo_recording() -> None:
    demo = files("streamwatch").joinpath("demo", "live_commerce_demo.jsonl").read_text("utf-8")
    lines = {_strip(json.loads(line)["text"]) for line in demo.splitlines() if line.strip()}
    assert [r.text for r in PROBE if _strip(r.text) in lines] == []


def test_the_probe_is_never_a_training_folder_and_evaluate_reads_it() -> None:
    assert all(
        folder != PROBES_DIR and PROBES_DIR not in folder.parents for _, folder in HANDWRITTEN_SETS
    )
    probe = evaluate.commerce_set("probe")
    assert probe is not None and probe.name == "probe_short_distrust"
    assert probe.texts == [r.text for r in PROBE]
    assert int(probe.labels[evaluate.DISTRUST].sum()) == 29
    assert "probe_short_distrust" not in evaluate.DEFAULT_SETS
