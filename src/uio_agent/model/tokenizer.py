"""UIO-2 text tokenizer: the official id layout over a SentencePiece base.

Why this module exists
----------------------
UIO-2 uses one 33280-row text table. Ids 0..31999 belong to a SentencePiece base vocabulary (the
LLaMA ``tokenizer.model`` in the official release, with BOS/EOS/UNK permuted to 0/1/2) and ids
32000..33224 are appended pieces with fixed meanings: 1000 location bins, 200 sentinels, history
references, ``<image_input>``/``<audio_input>`` and seven target prefixes
(``reference/uio2-architecture.md`` §2). Official weights only make sense with exactly that layout.

The LLaMA tokenizer cannot be redistributed, so the project ships its own base: a byte-fallback BPE
SentencePiece model with V < 32000 pieces, trained (``tools/train_tokenizer.py``) from a frozen corpus
(``tools/build_tokenizer_corpus.py``) of the words the embodied tasks use: VIMA-Bench prompt templates,
objects, textures and novel words, the UIO-2 embodied prompts, navigation actions and action plans.
Both files live in ``model/assets/``. With such a base, ids V..31999 are *reserved*: they have no
piece, are never produced by :meth:`Tokenizer.encode`, and must be masked during generation
(:meth:`Tokenizer.generable_mask`). Every special id keeps its official value, so a model trained with
the project tokenizer and one loaded from official weights agree on the meaning of every special id.

How the appended pieces are matched
-----------------------------------
The official pieces are spelled with a leading ``▁`` and are only recognised after a space. Here
they are recognised wherever their exact spelling occurs (after a space, at the start, glued to
punctuation), with this whitespace rule:

* one space directly before a special piece belongs to it (its official ``▁``) and is dropped;
* one space directly after it is dropped too, and the following text starts a new word (it gets
  SentencePiece's word-start marker, as after any space);
* text glued to the end of a special piece (``<extra_id_300>)``) continues without a word-start marker.

Decoding renders every special piece as ``" " + spelling`` (its ``▁``) and removes the one leading
space of the output, exactly as SentencePiece decodes a ``▁``-prefixed piece. Hence
``decode(encode(t)) == t`` whenever each special piece in ``t`` is at the start or after one space,
which is how prompts and plans are written (``1: pick from ( <extra_id_700> ... )``). Text such as
``(<extra_id_700>`` encodes to the same ids as ``( <extra_id_700>`` and decodes to the latter.
Anything spelled like a special piece but outside the layout (``<extra_id_1200>``,
``<image_history_9>``, ``[Image] [X]``) is a :class:`ValueError`, never silently split into characters.

Location values follow the contract ``bin = int(v * 999)`` and decode to ``bin / 999``. Note that
``int((b / 999) * 999) == b - 1`` for b in {63, 126, 252, 504, 509} (float rounding), so to re-encode a
decoded location keep its bin (:func:`location_bin_of`) rather than the float value.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import sentencepiece as spm

__all__ = [
    "AUDIO_INPUT_ID",
    "AUDIO_INPUT_TOKEN",
    "BASE_VOCAB_LIMIT",
    "BOS_ID",
    "EOS_ID",
    "IMAGE_INPUT_ID",
    "IMAGE_INPUT_TOKEN",
    "LOCATION_END",
    "LOCATION_START",
    "MAX_HISTORY_FRAMES",
    "NUM_ASSIGNED_IDS",
    "NUM_EXTRA_IDS",
    "NUM_LOCATION_BINS",
    "NUM_SENTINELS",
    "PAD_ID",
    "PREFIX_IDS",
    "TEXT_PREFIX",
    "TRAINER_OPTIONS",
    "UNK_ID",
    "VOCAB_SIZE",
    "VOCAB_START",
    "Tokenizer",
    "audio_history_id",
    "audio_history_token",
    "image_history_id",
    "image_history_token",
    "location_bin",
    "location_bin_of",
    "location_id",
    "location_token",
    "location_value",
    "sentinel_id",
    "sentinel_token",
    "train_sentencepiece",
]

# --- the official id layout (reference/uio2-architecture.md §2) -------------------------------------
BOS_ID = 0
PAD_ID = 0  # the same id as BOS
EOS_ID = 1
UNK_ID = 2
BASE_VOCAB_LIMIT = 32000  # ids below this belong to the SentencePiece base
NUM_LOCATION_BINS = 1000
VOCAB_START = 200  # location bin b is spelled <extra_id_{200 + b}>
NUM_EXTRA_IDS = 1200  # <extra_id_0> .. <extra_id_1199>; <extra_id_N> has id 33199 - N
NUM_SENTINELS = 200  # <extra_id_0> .. <extra_id_199>
LOCATION_START = 32000  # id of bin 999
LOCATION_END = 33000  # exclusive; id of bin b is 32999 - b
MAX_HISTORY_FRAMES = 8
IMAGE_INPUT_ID = 33216
AUDIO_INPUT_ID = 33217
IMAGE_INPUT_TOKEN = "<image_input>"
AUDIO_INPUT_TOKEN = "<audio_input>"
PREFIX_IDS: dict[str, int] = {
    "[Text] [S]": 33218,
    "[Text] [R]": 33219,
    "[Text] [X]": 33220,
    "[Image] [S]": 33221,
    "[Image] [R]": 33222,
    "[Audio] [S]": 33223,
    "[Audio] [R]": 33224,
}
TEXT_PREFIX = "[Text] [S]"  # every text-target prompt starts with it (followed by a space)
NUM_ASSIGNED_IDS = 33225  # rows 33225..33279 exist in the table but carry no token
VOCAB_SIZE = 33280

_LAST_EXTRA_ID = BASE_VOCAB_LIMIT + NUM_EXTRA_IDS - 1  # 33199 = id of <extra_id_0>


def _extra_id(n: int) -> int:
    return _LAST_EXTRA_ID - n


# --- layout helpers (pure functions; also exposed as Tokenizer static methods) ----------------------


def _check_unit_value(v: float) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        raise ValueError(f"location value must be a real number in [0, 1], got {v!r} ({type(v).__name__})")
    f = float(v)
    if not (0.0 <= f <= 1.0):  # also rejects NaN
        raise ValueError(f"location value must lie in [0, 1] (normalise coordinates first), got {f!r}")
    return f


def location_bin(v: float) -> int:
    """Quantise ``v`` in [0, 1] to one of 1000 bins: ``int(v * 999)`` (official truncation)."""
    return int(_check_unit_value(v) * (NUM_LOCATION_BINS - 1))


def location_id(v: float) -> int:
    """Token id of the location bin of ``v``: ``32999 - int(v * 999)``."""
    return LOCATION_END - 1 - location_bin(v)


def location_token(v: float) -> str:
    """Text spelling of the location bin of ``v``: ``<extra_id_{200 + int(v * 999)}>``."""
    return f"<extra_id_{VOCAB_START + location_bin(v)}>"


def location_bin_of(token: int | str) -> int:
    """The bin (0..999) of a location id (32000..32999) or spelling (``<extra_id_200..1199>``)."""
    if isinstance(token, str):
        m = re.fullmatch(r"<extra_id_(0|[1-9]\d*)>", token)
        n = int(m.group(1)) if m else -1
        if not VOCAB_START <= n < VOCAB_START + NUM_LOCATION_BINS:
            raise ValueError(f"{token!r} is not a location token (<extra_id_200> .. <extra_id_1199>)")
        return n - VOCAB_START
    if isinstance(token, bool) or not isinstance(token, int | np.integer):
        raise ValueError(f"location token must be an id or a string, got {token!r}")
    if not LOCATION_START <= int(token) < LOCATION_END:
        raise ValueError(f"id {token} is not a location id ({LOCATION_START}..{LOCATION_END - 1})")
    return LOCATION_END - 1 - int(token)


def location_value(token: int | str) -> float:
    """Decode a location id or spelling to ``bin / 999`` in [0, 1]."""
    return location_bin_of(token) / (NUM_LOCATION_BINS - 1)


def _check_frame(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_HISTORY_FRAMES:
        raise ValueError(
            f"history frame index must be an int in 1..{MAX_HISTORY_FRAMES} (1-based), got {k!r}"
        )
    return int(k)


def image_history_token(k: int) -> str:
    """``<image_history_k>`` (k = 1..8) refers to history frame k (RoPE row k - 1)."""
    return f"<image_history_{_check_frame(k)}>"


def image_history_id(k: int) -> int:
    """Id of ``<image_history_k>``: 33198 + 2k."""
    return 33198 + 2 * _check_frame(k)


def audio_history_token(k: int) -> str:
    """``<audio_history_k>`` (k = 1..8)."""
    return f"<audio_history_{_check_frame(k)}>"


def audio_history_id(k: int) -> int:
    """Id of ``<audio_history_k>``: 33199 + 2k."""
    return 33199 + 2 * _check_frame(k)


def _check_sentinel(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 0 <= n < NUM_SENTINELS:
        raise ValueError(f"sentinel index must be an int in 0..{NUM_SENTINELS - 1}, got {n!r}")
    return int(n)


def sentinel_token(n: int) -> str:
    """T5-style span-corruption sentinel ``<extra_id_n>`` (n = 0..199)."""
    return f"<extra_id_{_check_sentinel(n)}>"


def sentinel_id(n: int) -> int:
    """Id of sentinel ``<extra_id_n>``: 33199 - n."""
    return _extra_id(_check_sentinel(n))


def _special_table() -> dict[str, int]:
    table = {f"<extra_id_{n}>": _extra_id(n) for n in range(NUM_EXTRA_IDS)}
    for k in range(1, MAX_HISTORY_FRAMES + 1):
        table[f"<image_history_{k}>"] = 33198 + 2 * k
        table[f"<audio_history_{k}>"] = 33199 + 2 * k
    table[IMAGE_INPUT_TOKEN] = IMAGE_INPUT_ID
    table[AUDIO_INPUT_TOKEN] = AUDIO_INPUT_ID
    table.update(PREFIX_IDS)
    return table


_SPECIAL_TO_ID: dict[str, int] = _special_table()
_ID_TO_SPECIAL: dict[int, str] = {i: s for s, i in _SPECIAL_TO_ID.items()}
assert len(_ID_TO_SPECIAL) == NUM_ASSIGNED_IDS - BASE_VOCAB_LIMIT

# Anything that looks like a special piece; membership in the table is checked separately so that
# near misses (<extra_id_1200>, <image_history_0>, [Image] [X]) raise instead of being split into text.
_SPECIAL_RE = re.compile(
    r"<extra_id_\d+>|<(?:image|audio)_history_\d+>|<image_input>|<audio_input>"
    r"|\[(?:Text|Image|Audio)\] \[[SRX]\]"
)


# --- minimal protobuf editing (the model is a serialized sentencepiece ModelProto) -----------------


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if value:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _fields(buf: bytes) -> list[tuple[int, int, bytes, bytes]]:
    """Split a message into (field number, wire type, raw field bytes, payload)."""
    out = []
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            payload = _varint(value)
        elif wire == 1:
            payload, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            payload, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            payload, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated protobuf message")
        out.append((number, wire, buf[start:pos], payload))
    return out


_NORMALIZER_SPEC = 3  # ModelProto.normalizer_spec
_ADD_DUMMY_PREFIX = 3  # NormalizerSpec.add_dummy_prefix (proto2 default: true)


def _add_dummy_prefix(model: bytes) -> bool:
    for number, wire, _, payload in _fields(model):
        if number == _NORMALIZER_SPEC and wire == 2:
            for sub_number, sub_wire, _, sub_payload in _fields(payload):
                if sub_number == _ADD_DUMMY_PREFIX and sub_wire == 0:
                    return _read_varint(sub_payload, 0)[0] != 0
    return True


def _without_dummy_prefix(model: bytes) -> bytes:
    """The same model with ``add_dummy_prefix = false`` (to encode text glued to a special piece)."""
    flag = _varint((_ADD_DUMMY_PREFIX << 3) | 0) + _varint(0)
    out = bytearray()
    found = False
    for number, wire, raw, payload in _fields(model):
        if number == _NORMALIZER_SPEC and wire == 2:
            found = True
            kept = b"".join(r for n, _, r, _ in _fields(payload) if n != _ADD_DUMMY_PREFIX)
            body = kept + flag
            out += _varint((_NORMALIZER_SPEC << 3) | 2) + _varint(len(body)) + body
        else:
            out += raw
    if not found:
        out += _varint((_NORMALIZER_SPEC << 3) | 2) + _varint(len(flag)) + flag
    return bytes(out)


# --- training the project's base model --------------------------------------------------------------

#: Options for the project's own base model. They mirror the LLaMA tokenizer's settings (BPE, byte
#: fallback, digits split, identity normalisation, whitespace kept, unk/bos/eos = 0/1/2) so the same
#: loader path (including the BOS/EOS/UNK permutation) serves both bases.
TRAINER_OPTIONS: dict[str, Any] = {
    "model_type": "bpe",
    "byte_fallback": True,
    "split_digits": True,
    "character_coverage": 1.0,
    "normalization_rule_name": "identity",
    "remove_extra_whitespaces": False,
    "add_dummy_prefix": True,
    "allow_whitespace_only_pieces": True,
    "unk_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "pad_id": -1,
    "hard_vocab_limit": True,
    "num_threads": 1,
    "input_sentence_size": 0,
    "shuffle_input_sentence": False,
    "max_sentence_length": 8192,
    "minloglevel": 2,
}


def train_sentencepiece(lines: Iterable[str], vocab_size: int, **overrides: Any) -> bytes:
    """Train a SentencePiece model on ``lines`` and return its serialized bytes.

    Deterministic for the same lines, options and sentencepiece version: training runs on one thread
    from an in-memory iterator and writes to memory, so no file path ends up in the model.
    """
    if not 0 < vocab_size <= BASE_VOCAB_LIMIT:
        raise ValueError(f"vocab_size must be in 1..{BASE_VOCAB_LIMIT}, got {vocab_size}")
    corpus = [line for line in lines if line.strip()]
    if not corpus:
        raise ValueError("train_sentencepiece needs at least one non-empty line")
    options = {**TRAINER_OPTIONS, **overrides, "vocab_size": vocab_size}
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus), model_writer=out, **options)
    return out.getvalue()


# --- the tokenizer -----------------------------------------------------------------------------------

_ASSETS_PACKAGE = "uio_agent.model"
DEFAULT_MODEL_FILE = "uio_agent_spm.model"


class Tokenizer:
    """Text <-> ids in the official UIO-2 layout (see the module docstring for the rules).

    Build with :meth:`default` (the shipped project base), :meth:`from_file` (e.g. the user's LLaMA
    ``tokenizer.model`` or a checkpoint's ``tokenizer.model``) or :meth:`from_bytes`.
    """

    # constants, so ``tok.EOS_ID`` etc. read naturally
    BOS_ID = BOS_ID
    PAD_ID = PAD_ID
    EOS_ID = EOS_ID
    UNK_ID = UNK_ID
    LOCATION_START = LOCATION_START
    LOCATION_END = LOCATION_END
    IMAGE_INPUT_ID = IMAGE_INPUT_ID
    AUDIO_INPUT_ID = AUDIO_INPUT_ID
    PREFIX_IDS = PREFIX_IDS
    TEXT_PREFIX = TEXT_PREFIX
    vocab_size = VOCAB_SIZE

    location_bin = staticmethod(location_bin)
    location_id = staticmethod(location_id)
    location_token = staticmethod(location_token)
    location_value = staticmethod(location_value)
    location_bin_of = staticmethod(location_bin_of)
    image_history_token = staticmethod(image_history_token)
    image_history_id = staticmethod(image_history_id)
    audio_history_token = staticmethod(audio_history_token)
    audio_history_id = staticmethod(audio_history_id)
    sentinel_token = staticmethod(sentinel_token)
    sentinel_id = staticmethod(sentinel_id)

    def __init__(self, model: bytes, *, source: str = "<bytes>") -> None:
        self._init(bytes(model), source)

    def _init(self, model: bytes, source: str) -> None:
        try:
            sp = spm.SentencePieceProcessor(model_proto=model)
            dummy_prefix = _add_dummy_prefix(model)
            sp_glued = spm.SentencePieceProcessor(model_proto=_without_dummy_prefix(model))
        except (RuntimeError, OSError, ValueError) as exc:
            raise ValueError(f"{source} is not a readable SentencePiece model: {exc}") from exc
        size = sp.get_piece_size()
        if size > BASE_VOCAB_LIMIT:
            raise ValueError(
                f"{source} has {size} pieces; the UIO-2 layout has room for at most {BASE_VOCAB_LIMIT} "
                "(the LLaMA-1/2 tokenizer has exactly 32000; LLaMA-3 tokenizers are incompatible)"
            )
        ids = {"<unk>": sp.unk_id(), "<s>": sp.bos_id(), "</s>": sp.eos_id()}
        if sorted(ids.values()) != [0, 1, 2]:
            raise ValueError(
                f"{source} must define <unk>, <s> and </s> as its first three pieces (got ids {ids}); "
                "train it with unk_id=0, bos_id=1, eos_id=2 as LLaMA does"
            )
        if not dummy_prefix:
            raise ValueError(
                f"{source} was trained with add_dummy_prefix=false; the UIO-2 layout spells its special "
                "pieces with a word-start marker and needs a base that adds it (LLaMA does)"
            )
        self._model = model
        self._source = source
        self._sp = sp
        self._sp_glued = sp_glued
        self._base_size = size
        self._sha256 = hashlib.sha256(model).hexdigest()
        # Permutation of the first three ids: base (SentencePiece) id -> UIO-2 id, and back.
        self._to_uio = {ids["<s>"]: BOS_ID, ids["</s>"]: EOS_ID, ids["<unk>"]: UNK_ID}
        self._to_base = {v: k for k, v in self._to_uio.items()}
        self._base_not_text = frozenset(
            i for i in range(3, size) if sp.is_control(i) or sp.is_unused(i) or sp.is_unknown(i)
        )

    # construction ------------------------------------------------------------------------------------

    @classmethod
    def from_bytes(
        cls, model: bytes, *, expected_sha256: str | None = None, source: str = "<bytes>"
    ) -> Tokenizer:
        """Tokenizer over a serialized SentencePiece model; optionally check its sha256."""
        tok = cls(model, source=source)
        if expected_sha256 is not None and expected_sha256.lower() != tok.sha256:
            raise ValueError(
                f"{source} has sha256 {tok.sha256}, expected {expected_sha256}: this is not the tokenizer "
                "the checkpoint was trained with"
            )
        return tok

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, expected_sha256: str | None = None) -> Tokenizer:
        """Load a ``tokenizer.model`` file (the user's LLaMA tokenizer, or a checkpoint's copy)."""
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"tokenizer model not found: {p}")
        return cls.from_bytes(p.read_bytes(), expected_sha256=expected_sha256, source=str(p))

    @classmethod
    @functools.cache
    def default(cls) -> Tokenizer:
        """The project's shipped base (``model/assets/uio_agent_spm.model``), shared instance."""
        data = resources.files(_ASSETS_PACKAGE).joinpath("assets").joinpath(DEFAULT_MODEL_FILE).read_bytes()
        return cls(data, source=f"{_ASSETS_PACKAGE}/assets/{DEFAULT_MODEL_FILE}")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the base model bytes to ``path`` atomically (a checkpoint's ``tokenizer.model``)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self._model)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p

    def __getstate__(self) -> dict[str, Any]:
        return {"model": self._model, "source": self._source}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._init(state["model"], state["source"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and other._model == self._model

    def __hash__(self) -> int:
        return hash(self._sha256)

    def __repr__(self) -> str:
        return f"Tokenizer(source={self._source!r}, base_size={self._base_size}, sha256={self._sha256[:12]}…)"

    # properties --------------------------------------------------------------------------------------

    @property
    def sha256(self) -> str:
        """Hex sha256 of the base model bytes (stored in checkpoints to pin the tokenizer)."""
        return self._sha256

    @property
    def base_size(self) -> int:
        """V, the number of SentencePiece pieces (32000 for LLaMA; fewer for the project base)."""
        return self._base_size

    @property
    def model_bytes(self) -> bytes:
        return self._model

    def reserved_ids(self) -> range:
        """Ids V..31999: base slots the base model does not fill; never encoded, never to be generated."""
        return range(self._base_size, BASE_VOCAB_LIMIT)

    @staticmethod
    def unassigned_ids() -> range:
        """Rows 33225..33279 of the table, which carry no token in the official layout."""
        return range(NUM_ASSIGNED_IDS, VOCAB_SIZE)

    def generable_mask(self) -> np.ndarray:
        """Bool [33280]: ids a decoder may emit. Use ``torch.from_numpy(mask)`` for logits masking.

        False for BOS/PAD (0; only the decoder's start token), UNK (2), base control/unused pieces,
        the reserved ids V..31999 and the unassigned rows 33225..33279. True for EOS, every text piece
        of the base (byte pieces included) and every appended piece (locations, sentinels, history
        references, input references, prefixes).
        """
        mask = np.zeros(VOCAB_SIZE, dtype=bool)
        mask[EOS_ID] = True
        mask[3 : self._base_size] = True
        for i in self._base_not_text:
            mask[i] = False
        mask[BASE_VOCAB_LIMIT:NUM_ASSIGNED_IDS] = True
        return mask

    # encoding ----------------------------------------------------------------------------------------

    def _encode_chunk(self, text: str, word_start: bool) -> list[int]:
        if not text:
            return []
        sp = self._sp if word_start else self._sp_glued
        return [self._to_uio.get(i, i) for i in sp.encode(text)]

    def encode(self, text: str, add_eos: bool = True) -> list[int]:
        """Ids of ``text`` (no BOS; EOS appended unless ``add_eos=False``), special pieces matched anywhere."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}; use encode_batch for lists")
        ids: list[int] = []
        pos = 0
        word_start = True
        for m in _SPECIAL_RE.finditer(text):
            piece = m.group(0)
            special = _SPECIAL_TO_ID.get(piece)
            if special is None:
                raise ValueError(
                    f"{piece!r} at offset {m.start()} looks like a UIO-2 special piece but is not one "
                    "(valid: <extra_id_0..1199>, <image_history_1..8>, <audio_history_1..8>, "
                    f"<image_input>, <audio_input>, {', '.join(PREFIX_IDS)})"
                )
            chunk = text[pos : m.start()]
            if chunk.endswith(" "):
                chunk = chunk[:-1]
            ids += self._encode_chunk(chunk, word_start)
            ids.append(special)
            pos = m.end()
            word_start = text.startswith(" ", pos)
            if word_start:
                pos += 1
        ids += self._encode_chunk(text[pos:], word_start)
        if add_eos:
            ids.append(EOS_ID)
        return ids

    def encode_batch(self, texts: Sequence[str], add_eos: bool = True) -> list[list[int]]:
        return [self.encode(t, add_eos=add_eos) for t in texts]

    # decoding ----------------------------------------------------------------------------------------

    def _check_id(self, i: int) -> None:
        if not 0 <= i < VOCAB_SIZE:
            raise ValueError(f"token id {i} is outside the vocabulary (0..{VOCAB_SIZE - 1})")
        if self._base_size <= i < BASE_VOCAB_LIMIT:
            raise ValueError(
                f"token id {i} is reserved: this base has {self._base_size} pieces, so ids "
                f"{self._base_size}..{BASE_VOCAB_LIMIT - 1} have no text; mask them during generation "
                "(Tokenizer.generable_mask())"
            )
        if i >= NUM_ASSIGNED_IDS:
            raise ValueError(
                f"token id {i} is an unassigned row ({NUM_ASSIGNED_IDS}..{VOCAB_SIZE - 1}) with no text"
            )

    @staticmethod
    def _as_id_list(ids: Any) -> list[int]:
        if isinstance(ids, str | bytes):
            raise TypeError("decode takes a sequence of ids, not a string")
        if hasattr(ids, "tolist"):  # numpy arrays and torch tensors
            ids = ids.tolist()
        out = []
        for i in ids:
            if isinstance(i, list):
                raise ValueError("decode takes one 1-D sequence of ids; use decode_batch for a batch")
            if isinstance(i, bool) or not isinstance(i, int | np.integer):
                raise ValueError(f"token ids must be integers, got {i!r}")
            out.append(int(i))
        return out

    def _decode_run(self, run: list[int]) -> str:
        base = [self._to_base.get(i, i) for i in run]
        text: str = self._sp.decode(base)
        # SentencePiece drops the word-start space of the first piece; keep it (stripped once at the end).
        if self._sp.id_to_piece(base[0]).startswith("▁"):
            text = " " + text
        return text

    def decode(self, ids: Any, skip_special: bool = True, stop_at_eos: bool = False) -> str:
        """Text of ``ids``. ``skip_special`` drops BOS/PAD and EOS; otherwise they read ``<s>``/``</s>``.

        Location, sentinel, history, input and prefix pieces are content and always decode to their
        spelling (``<extra_id_N>`` etc.), so plans round-trip. ``stop_at_eos`` ignores everything after
        the first EOS (generated sequences). Reserved or unassigned ids raise.
        """
        id_list = self._as_id_list(ids)
        if stop_at_eos and EOS_ID in id_list:
            id_list = id_list[: id_list.index(EOS_ID) + 1]
        parts: list[str] = []
        run: list[int] = []
        for i in id_list:
            self._check_id(i)
            if 3 <= i < BASE_VOCAB_LIMIT or i == UNK_ID:
                run.append(i)
                continue
            if run:
                parts.append(self._decode_run(run))
                run = []
            if i in (BOS_ID, EOS_ID):
                if not skip_special:
                    parts.append(" <s>" if i == BOS_ID else " </s>")
            else:
                parts.append(" " + _ID_TO_SPECIAL[i])
        if run:
            parts.append(self._decode_run(run))
        text = "".join(parts)
        return text[1:] if text.startswith(" ") else text

    def decode_batch(self, batch: Any, skip_special: bool = True, stop_at_eos: bool = False) -> list[str]:
        if hasattr(batch, "tolist"):
            batch = batch.tolist()
        return [self.decode(row, skip_special=skip_special, stop_at_eos=stop_at_eos) for row in batch]

    # pieces ------------------------------------------------------------------------------------------

    def id_to_piece(self, i: int) -> str:
        """The piece of id ``i``: a SentencePiece piece (``▁pick``) or a special spelling."""
        self._check_id(int(i))
        if int(i) >= BASE_VOCAB_LIMIT:
            return _ID_TO_SPECIAL[int(i)]
        piece: str = self._sp.id_to_piece(self._to_base.get(int(i), int(i)))
        return piece

    def piece_to_id(self, piece: str) -> int:
        """Inverse of :meth:`id_to_piece`; ValueError for a piece the vocabulary lacks."""
        if piece in _SPECIAL_TO_ID:
            return _SPECIAL_TO_ID[piece]
        i = self._sp.piece_to_id(piece)
        if i == self._sp.unk_id() and piece != self._sp.id_to_piece(i):
            raise ValueError(f"{piece!r} is not a piece of this tokenizer")
        return self._to_uio.get(i, i)

    def is_location_id(self, i: int) -> bool:
        return LOCATION_START <= int(i) < LOCATION_END
