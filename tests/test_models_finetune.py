"""LoRA fine-tuning: epoch sampling, length buckets, licence-aware sources, and a whole run on a
tiny converted encoder whose saved adapter the classifier then loads (merged) to the same
embeddings the training model computed (unmerged)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from streamwatch.errors import ModelError
from streamwatch.models.heads import load_heads
from streamwatch.models.lora import load_adapter
from streamwatch.models.training.finetune import (
    ADAPTER_FILE,
    FinetuneArgs,
    embed_sequences,
    epoch_rows,
    load_adapter_into,
    load_trainable_encoder,
    parse_args,
    resolve_init,
    run,
    shouted_sequences,
    total_loss,
    training_batches,
    with_shouted,
)
from streamwatch.models.training.soup import main as soup_main
from streamwatch.models.training.soup import soup
from streamwatch.models.training.train_heads import LabelSet, read_dataset, training_sources
from streamwatch.models.transformer_classifier import TransformerClassifier
from streamwatch.text import unshout
from tests.models_support import tiny_converted


def _labelset(sources: list[str], splits: list[str]) -> LabelSet:
    n = len(sources)
    return LabelSet(
        texts=[f"t{i}" for i in range(n)],
        langs=["en"] * n,
        sources=sources,
        splits=splits,
        labels={
            h: np.zeros(n, dtype=np.int64) for h in ("question", "sentiment", "distrust", "topic")
        },
        weak={
            h: np.zeros(n, dtype=np.bool_) for h in ("question", "sentiment", "distrust", "topic")
        },
    )


def test_training_batches_cover_every_row_once_with_little_padding() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 48, size=5000).astype(np.int64)
    rows = np.arange(5000, dtype=np.int64)
    batches = training_batches(rows, lengths, 32, np.random.default_rng(1))
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == rows.tolist()
    assert max(len(b) for b in batches) == 32
    padded = sum(len(b) * int(lengths[b].max()) for b in batches)
    assert padded < 1.15 * int(lengths.sum())  # random batches pad about 1.8x here


def test_epoch_rows_keep_hand_written_and_cap_each_dataset() -> None:
    sources = ["handwritten"] * 50 + ["stream_chat"] * 30 + ["a"] * 400 + ["b"] * 20
    labels = _labelset(sources, ["train"] * len(sources))
    rows = epoch_rows(labels, labels.indices("train"), 100, np.random.default_rng(0))
    picked = [sources[i] for i in rows]
    assert picked.count("handwritten") == 50 and picked.count("stream_chat") == 30
    assert picked.count("a") == 100 and picked.count("b") == 20
    again = epoch_rows(labels, labels.indices("train"), 100, np.random.default_rng(1))
    assert set(again.tolist()) != set(rows.tolist())  # a fresh sample each epoch


def test_open_training_sources_leave_out_unlicensed_datasets() -> None:
    present = [
        "handwritten",
        "stream_chat",
        "th_wisesight",
        "zh_jd",
        "et_valence",
        "xquad_questions",
    ]
    assert training_sources("open", present) == {
        "handwritten",
        "stream_chat",
        "th_wisesight",
        "xquad_questions",
    }
    assert training_sources("all", present) == set(present)
    assert training_sources("zh_jd,handwritten", present) == {"zh_jd", "handwritten"}
    with pytest.raises(ModelError, match="unknown training sources"):
        training_sources("nope", present)
    labels = _labelset(["handwritten", "zh_jd", "th_wisesight"], ["train", "train", "dev"])
    kept = labels.from_sources(training_sources("open", labels.sources))
    assert kept.sources == ["handwritten", "th_wisesight"] and kept.splits == ["train", "dev"]


def test_args_are_validated(tmp_path: Path) -> None:
    for bad in (
        {"lr": 2.0},
        {"epochs": 0},
        {"dataset_rows": 0},
        {"lora_dropout": 1.0},
        {"shout": 1.0},
        {"shout": -0.1},
    ):
        with pytest.raises(ModelError):
            FinetuneArgs(data=tmp_path, out=tmp_path, **bad)  # type: ignore[arg-type]


WORDS = ["hello", "world", "is", "this", "it", "ok", "when", "where", "how", "much"]
CUES = {
    "price": ("price_promo", "neu"),
    "shipping": ("shipping", "neu"),
    "size": ("size_specs", "neu"),
    "link": ("stock", "neu"),
    "love": ("authenticity_quality", "pos"),
    "bad": ("authenticity_quality", "neg"),
}


def _write_dataset(folder: Path, n: int = 480) -> None:
    """Rows whose labels follow from their words: '?' asks, 'scam'/'fake' distrust, a cue word
    gives topic and sentiment."""
    rng = np.random.default_rng(7)
    rows: dict[str, list[dict[str, object]]] = {"train": [], "dev": []}
    seen = set()
    cues = list(CUES)
    for i in itertools.count():
        if len(rows["train"]) + len(rows["dev"]) >= n:
            break
        cue = cues[i % len(cues)]
        distrust = i % 5 == 0
        question = i % 2 == 0
        words = [*rng.choice(WORDS, size=rng.integers(1, 4)), cue]
        if distrust:
            words.append("scam" if i % 2 else "fake")
        rng.shuffle(words)
        text = " ".join(words) + (" ?" if question else "")
        if text in seen:
            continue
        seen.add(text)
        topic, sentiment = CUES[cue]
        split = "dev" if i % 4 == 0 else "train"
        rows[split].append(
            {
                "text": text,
                "lang": "en",
                "source": "handwritten" if i % 3 else "th_wisesight",
                "is_question": question,
                "sentiment": "neg" if distrust else sentiment,
                "distrust": distrust,
                "topic": topic,
                "weak": False,
                "weak_fields": [],
            }
        )
    for split, items in rows.items():
        (folder / f"{split}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in items) + '{"text": "broken\n', encoding="utf-8"
        )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[FinetuneArgs, list[str]]:
    tmp = tmp_path_factory.mktemp("finetune")
    encoder = tiny_converted(tmp)
    data = tmp / "data"
    data.mkdir()
    _write_dataset(data)
    args = FinetuneArgs(
        data=data,
        out=tmp / "model",
        encoder=str(encoder),
        layers=None,
        max_length=16,
        hidden=32,
        epochs=6,
        batch_size=16,
        lr=5e-3,
        head_lr=1e-2,
        evals_per_epoch=1,
        seed=5,
        threads=1,
        loss_weights={"distrust": 2.0},
    )
    lines: list[str] = []
    run(args, log=lines.append)
    return args, lines


def test_a_run_learns_and_writes_a_model_directory(
    tiny_run: tuple[FinetuneArgs, list[str]],
) -> None:
    args, lines = tiny_run
    history = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(history) == args.epochs
    assert any(line.startswith("skipped 2 bad rows") for line in lines)  # one per split file
    assert history[-1]["loss"] < history[0]["loss"]
    assert max(h["dev"] for h in history) > history[0]["dev"]
    assert {p.name for p in args.out.iterdir()} == {ADAPTER_FILE, "heads.json", "heads.safetensors"}
    config = load_heads(args.out).config
    assert config.adapter == ADAPTER_FILE and config.encoder == args.encoder
    assert config.metrics["dev_score"] == max(h["dev"] for h in history)
    assert config.training["finetune"]["train_sources"] == "open"
    assert config.training["finetune"]["loss_weights"] == {"distrust": 2.0}
    _, r, alpha = load_adapter(args.out / ADAPTER_FILE)
    assert (r, alpha) == (args.r, args.alpha)


def test_the_classifier_loads_the_run_to_the_embeddings_training_computed(
    tiny_run: tuple[FinetuneArgs, list[str]],
) -> None:
    args, _ = tiny_run
    # adapter merged into the weights; fp32 like the training view (``auto`` may measure bf16)
    clf = TransformerClassifier.load(str(args.out), threads=1, dtype="float32")
    resumed, heads, state = resolve_init(FinetuneArgs(data=args.data, out=args.out, init=args.out))
    assert heads is not None and state is not None
    assert resumed.encoder == args.encoder and resumed.max_length == args.max_length
    encoder, model, _ = load_trainable_encoder(resumed)  # adapter kept apart (LoRA modules)
    load_adapter_into(model, state)
    texts = read_dataset(args.data, ("dev",)).texts[:40]
    seqs = [np.asarray(s) for s in encoder.tokenize(texts)]
    training_view = embed_sequences(model, seqs, encoder.pad_id, "cpu")
    serving_view = clf.encoder.embed(texts)
    cosine = (training_view * serving_view).sum(axis=1)
    assert cosine.min() > 0.9999
    results = clf.predict(texts)
    assert all(r.model.startswith("heads@") for r in results)


def test_runs_are_reproducible(tiny_run: tuple[FinetuneArgs, list[str]], tmp_path: Path) -> None:
    args, _ = tiny_run
    from dataclasses import replace

    again = replace(args, out=tmp_path / "again")
    run(again, log=lambda _: None)
    a, _, _ = load_adapter(args.out / ADAPTER_FILE)
    b, _, _ = load_adapter(again.out / ADAPTER_FILE)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_model_without_adapter_cannot_be_continued(tmp_path: Path) -> None:
    from tests.models_support import tiny_heads_dir

    heads = tiny_heads_dir(tmp_path, encoder="x")
    with pytest.raises(ModelError, match="no LoRA adapter"):
        resolve_init(FinetuneArgs(data=tmp_path, out=tmp_path, init=heads))


def test_loss_weights_multiply_single_heads(tmp_path: Path) -> None:
    import torch

    losses = {"is_question": torch.tensor(1.0), "distrust": torch.tensor(2.0)}
    assert float(total_loss(losses, {})) == 3.0
    assert float(total_loss(losses, {"distrust": 1.5})) == 4.0
    args, _ = parse_args(
        ["--data", str(tmp_path), "--out", str(tmp_path), "--loss-weight", "distrust=1.5"]
    )
    assert args.loss_weights == {"distrust": 1.5}
    assert parse_args(["--data", ".", "--out", "."])[0].loss_weights == {}
    for bad in ("distrust", "distrust=x", "nope=2", "distrust=0"):
        with pytest.raises(ModelError):
            parse_args(["--data", ".", "--out", ".", "--loss-weight", bad])


class _UpperTokenizer:
    """Token ids that tell upper from lower case: one id per character; like an encoder of a
    ``lowercase_shouted`` model, it lower-cases shouted text unless told not to."""

    def tokenize(
        self, texts: list[str], *, lowercase_shouted: bool | None = None
    ) -> list[list[int]]:
        if lowercase_shouted is not False:
            texts = [unshout(t) for t in texts]
        return [[ord(c) for c in t] for t in texts]


def test_shouted_sequences_exist_only_where_upper_casing_changes_the_text() -> None:
    texts = ["is this real", "尺码偏大吗", "РАЗВОД", "развод 666"]
    out = shouted_sequences(_UpperTokenizer(), texts)
    assert out[1] is None and out[2] is None  # no case, already shouted
    assert out[0] is not None and list(out[0]) == [ord(c) for c in "IS THIS REAL"]
    assert out[3] is not None and list(out[3]) == [ord(c) for c in "РАЗВОД 666"]


def test_with_shouted_swaps_about_the_chance_of_rows_and_never_a_row_without_a_shout() -> None:
    seqs = [np.array([i], dtype=np.int64) for i in range(1000)]
    shouted = [None if i % 2 else np.array([-i], dtype=np.int64) for i in range(1000)]
    batch = np.arange(1000, dtype=np.int64)
    rng = np.random.default_rng(0)
    assert with_shouted(batch, seqs, shouted, 0.0, rng) == [seqs[i] for i in range(1000)]
    assert with_shouted(batch, seqs, None, 0.5, rng) == [seqs[i] for i in range(1000)]
    got = with_shouted(batch, seqs, shouted, 0.3, rng)
    swapped = [i for i, s in enumerate(got) if s is not seqs[i]]
    assert all(i % 2 == 0 and got[i][0] == -i for i in swapped)
    assert 0.25 * 500 < len(swapped) < 0.35 * 500


def test_a_shouting_run_trains_on_upper_cased_rows_and_records_the_chance(
    tiny_run: tuple[FinetuneArgs, list[str]], tmp_path: Path
) -> None:
    from dataclasses import replace

    args, _ = tiny_run
    shouting = replace(args, out=tmp_path / "shout", shout=0.5, epochs=1)
    plain = replace(args, out=tmp_path / "plain", epochs=1)
    for a in (shouting, plain):
        run(a, log=lambda _: None)
    assert load_heads(shouting.out).config.training["finetune"]["shout"] == 0.5
    a, _, _ = load_adapter(shouting.out / ADAPTER_FILE)
    b, _, _ = load_adapter(plain.out / ADAPTER_FILE)
    assert any(not torch.equal(a[k], b[k]) for k in a)  # it saw other token ids
    assert parse_args(["--data", ".", "--out", ".", "--shout", "0.1"])[0].shout == 0.1


def test_lowercasing_shouted_text_is_written_into_the_model_and_kept_by_continuations(
    tiny_run: tuple[FinetuneArgs, list[str]], tmp_path: Path
) -> None:
    from dataclasses import replace

    args, _ = tiny_run
    folding = replace(args, out=tmp_path / "fold", lowercase_shouted=True, epochs=1)
    run(folding, log=lambda _: None)
    assert load_heads(folding.out).config.lowercase_shouted
    assert not load_heads(args.out).config.lowercase_shouted
    resumed, _, _ = resolve_init(FinetuneArgs(data=args.data, out=tmp_path, init=folding.out))
    assert resumed.lowercase_shouted
    encoder, _, _ = load_trainable_encoder(resumed)
    shout, typed_text = "IS THIS REAL LEATHER", "is this real leather"
    assert encoder.tokenize([shout]) == encoder.tokenize([typed_text])
    assert encoder.tokenize([shout], lowercase_shouted=False) != encoder.tokenize([typed_text])
    clf = TransformerClassifier.load(str(folding.out), threads=1, dtype="float32")
    shouted, typed = clf.predict([shout, typed_text])
    assert shouted.distrust_score == typed.distrust_score
    assert shouted.sentiment_scores == typed.sentiment_scores
    flags = ["--data", ".", "--out", ".", "--lowercase-shouted"]
    assert parse_args(flags)[0].lowercase_shouted


@pytest.fixture(scope="module")
def two_seeds(
    tiny_run: tuple[FinetuneArgs, list[str]], tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    """Two one-epoch continuations of the tiny run with other seeds: what a soup averages."""
    from dataclasses import replace

    args, _ = tiny_run
    tmp = tmp_path_factory.mktemp("seeds")
    runs = [replace(args, out=tmp / f"seed{s}", init=args.out, epochs=1, seed=s) for s in (1, 2)]
    for a in runs:
        run(a, log=lambda _: None)
    return [a.out for a in runs]


def test_a_soup_of_two_seeds_loads_to_the_mean_of_their_merged_weights(
    tiny_run: tuple[FinetuneArgs, list[str]], two_seeds: list[Path], tmp_path: Path
) -> None:
    args, _ = tiny_run
    soup(two_seeds, tmp_path / "soup")
    _, r, alpha = load_adapter(tmp_path / "soup" / ADAPTER_FILE)
    assert (r, alpha) == (2 * args.r, 2 * args.alpha)
    weights = [
        dict(
            TransformerClassifier.load(
                str(d), threads=1, dtype="float32"
            ).encoder.model.named_parameters()
        )
        for d in (*two_seeds, tmp_path / "soup")
    ]
    name = next(n for n in weights[2] if n.endswith("attention.self.query.weight"))
    assert not torch.equal(weights[0][name], weights[1][name])
    torch.testing.assert_close(weights[2][name], (weights[0][name] + weights[1][name]) / 2)
    clf = TransformerClassifier.load(str(tmp_path / "soup"), threads=1, dtype="float32")
    assert len(clf.predict(["is it real leather?", "scam"])) == 2


def test_a_soup_can_be_told_to_read_shouted_text_lower_cased(
    two_seeds: list[Path], tmp_path: Path
) -> None:
    runs = [str(d) for d in two_seeds]
    assert soup_main([*runs, "--out", str(tmp_path / "as_runs")]) == 0
    assert soup_main([*runs, "--out", str(tmp_path / "lower"), "--lowercase-shouted"]) == 0
    assert not load_heads(tmp_path / "as_runs").config.lowercase_shouted
    assert load_heads(tmp_path / "lower").config.lowercase_shouted


def test_a_soup_gets_thresholds_tuned_on_dev_like_a_run(
    tiny_run: tuple[FinetuneArgs, list[str]],
    two_seeds: list[Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args, _ = tiny_run
    out = tmp_path / "soup"
    rc = soup_main(
        [str(d) for d in two_seeds] + ["--out", str(out), "--data", str(args.data), "--seed", "5"]
    )
    assert rc == 0
    config = load_heads(out).config
    assert config.metrics["dev_seed"] == 5 and 0 < config.metrics["dev_score"] <= 1
    assert set(config.metrics["dev"]) >= {"commerce_dev"}
    assert all(0 < config.thresholds[h] < 1 for h in ("question", "distrust"))
    assert [r["run"] for r in config.training["soup"]] == ["seed1", "seed2"]
    assert any(
        line.startswith("skipped 2 bad rows") for line in capsys.readouterr().out.splitlines()
    )
