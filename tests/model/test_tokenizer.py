"""Tokenizer: the official UIO-2 id layout over the shipped and a LLaMA-shaped SentencePiece base."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import sentencepiece as spm
from hypothesis import given, settings
from hypothesis import strategies as st

from uio_agent.model import tokenizer as T
from uio_agent.model.tokenizer import Tokenizer, train_sentencepiece

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "src/uio_agent/model/assets"


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.default()


@pytest.fixture(scope="module")
def llama_like() -> tuple[Tokenizer, spm.SentencePieceProcessor]:
    """A 32000-piece BPE model with LLaMA's unk/bos/eos = 0/1/2, standing in for the LLaMA tokenizer."""
    lines = (ASSETS / "tokenizer_corpus.txt").read_text().splitlines()
    filler = [f"zq{i:05d}" for i in range(32000 - 1200)]  # user-defined pieces pad the vocabulary to 32000
    model = train_sentencepiece(lines, 32000, user_defined_symbols=filler)
    sp = spm.SentencePieceProcessor(model_proto=model)
    assert sp.get_piece_size() == 32000 and (sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2)
    return Tokenizer(model, source="llama-like"), sp


# --- the layout ---------------------------------------------------------------------------------------


def test_special_ids_match_reference_table(tok: Tokenizer) -> None:
    assert (T.BOS_ID, T.PAD_ID, T.EOS_ID, T.UNK_ID) == (0, 0, 1, 2)
    assert T.VOCAB_SIZE == tok.vocab_size == 33280
    enc = lambda s: tok.encode(s, add_eos=False)  # noqa: E731
    for b in range(1000):
        assert enc(f"<extra_id_{200 + b}>") == [32999 - b]
    for n in range(200):
        assert enc(f"<extra_id_{n}>") == [33199 - n] == [T.sentinel_id(n)]
        assert T.sentinel_token(n) == f"<extra_id_{n}>"
    assert (
        enc("<extra_id_1199>") == [32000]
        and enc("<extra_id_200>") == [32999]
        and enc("<extra_id_0>") == [33199]
    )
    expected_history = [33200, 33201, 33202, 33203, 33204, 33205, 33206, 33207]
    expected_history += [33208, 33209, 33210, 33211, 33212, 33213, 33214, 33215]
    got = []
    for k in range(1, 9):
        got += enc(f"<image_history_{k}>") + enc(f"<audio_history_{k}>")
        assert T.image_history_id(k) == 33198 + 2 * k and T.audio_history_id(k) == 33199 + 2 * k
    assert got == expected_history
    assert enc("<image_input>") == [33216] and enc("<audio_input>") == [33217]
    prefixes = [
        "[Text] [S]",
        "[Text] [R]",
        "[Text] [X]",
        "[Image] [S]",
        "[Image] [R]",
        "[Audio] [S]",
        "[Audio] [R]",
    ]
    assert [enc(p)[0] for p in prefixes] == list(range(33218, 33225))
    assert list(tok.unassigned_ids()) == list(range(33225, 33280))
    for i in range(32000, 33225):  # every appended id decodes to its spelling and back
        assert enc(tok.decode([i])) == [i] and tok.id_to_piece(i) == tok.decode([i])


@pytest.mark.parametrize("k", range(1, 9))
def test_image_history_is_one_id_in_every_position(tok: Tokenizer, k: int) -> None:
    prompt = '[Text] [S] Put the red heart into the bowl, then "twist" it (30 degrees).'
    token, hid = T.image_history_token(k), T.image_history_id(k)
    for pos in range(len(prompt) + 1):
        for text in (prompt[:pos] + token + prompt[pos:], prompt[:pos] + f" {token} " + prompt[pos:]):
            ids = tok.encode(text)
            assert ids.count(hid) == 1, (pos, text)
            assert T.UNK_ID not in ids
            assert tok.decode(ids).count(token) == 1


def test_whitespace_rule_around_special_pieces(tok: Tokenizer) -> None:
    loc = "<extra_id_500>"
    # one space on each side is absorbed; glued text continues the word
    assert tok.encode(f"from ( {loc} )") == tok.encode(f"from ({loc} )")
    assert tok.decode(tok.encode(f"from ({loc} )")) == f"from ( {loc} )"
    glued = tok.encode(f"{loc}.", add_eos=False)
    assert glued[0] == 32999 - 300 and tok.id_to_piece(glued[1]) == "."
    spaced = tok.encode(f"{loc} .", add_eos=False)
    assert tok.id_to_piece(spaced[1]).startswith("▁")
    for text in (f"{loc}.", f"{loc} .", f"a {loc}b", f"{loc}", f"x {loc}"):
        assert tok.decode(tok.encode(text)) == text


# --- location tokens --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_location_round_trip(v: float) -> None:
    tok = Tokenizer.default()
    b = int(v * 999)
    i = T.location_id(v)
    assert i == 32999 - b and T.location_bin(v) == b
    assert T.location_token(v) == f"<extra_id_{200 + b}>"
    value = T.location_value(i)
    assert value == b / 999 == T.location_value(T.location_token(v))
    assert 0.0 <= v - value < 1 / 999 + 1e-12
    assert T.location_bin_of(i) == b == T.location_bin_of(tok.decode([i]))
    assert tok.encode(T.location_token(v), add_eos=False) == [i]
    assert tok.decode([i]) == T.location_token(v)
    assert Tokenizer.location_id(v) == tok.location_id(v) == i


def test_location_edges() -> None:
    assert T.location_id(0.0) == 32999 and T.location_id(1.0) == 32000
    assert T.location_value(32000) == 1.0 and T.location_value(32999) == 0.0
    assert T.location_id(np.float32(0.5)) == 32999 - 499


# --- encoding / decoding ------------------------------------------------------------------------------

PLANS = [
    "1: pick from ( <extra_id_700> <extra_id_200> <extra_id_1199> ) and place to ( <extra_id_300> "
    "<extra_id_201> <extra_id_250> )",
    "1: push from ( <extra_id_999> <extra_id_555> <extra_id_200> ) and push to ( <extra_id_1000> "
    "<extra_id_1001> <extra_id_200> ) 2: push from ( <extra_id_212> <extra_id_777> <extra_id_200> ) and push "
    "to ( <extra_id_1100> <extra_id_901> <extra_id_200> )",
    "[Text] [S] Put the <image_history_1> into the <image_history_2>. Forecast the next actions as a sequence "
    'of sentences with the format: "step: start-action from ( a1 b1 r1 ) and end-action to ( a2 b2 r2 )" based '
    "on the agent's initial observation <image_input>",
    '[Text] [S] Foresee the next action with the discrete action space "stop, move forward, turn left, turn '
    'right" based on agent\'s histories with the format "observation ( x z y ) action" <image_history_1> ( '
    "<extra_id_700> <extra_id_200> <extra_id_300> ) move forward <image_history_2> ( <extra_id_701> "
    "<extra_id_202> <extra_id_300> ) turn left",
    "Sweep any dark red and yellow polka dot small block into {bounds} without exceeding {constraint}.",
    "Unseen words, ünïcödé, emoji 🤖, tabs\tand  double  spaces, 3.14159",
]


@pytest.mark.parametrize("text", PLANS)
def test_encode_decode_round_trip(tok: Tokenizer, text: str) -> None:
    ids = tok.encode(text)
    assert ids[-1] == T.EOS_ID and T.EOS_ID not in ids[:-1]
    assert tok.decode(ids) == text
    assert tok.decode(ids, skip_special=False) == text + " </s>"
    assert tok.decode(np.array(ids)) == text
    generated = [0, *ids, 0, 0, *ids]  # BOS, text, EOS, padding, then junk after the first EOS
    assert tok.decode(generated, stop_at_eos=True) == text
    assert tok.decode_batch(np.array([generated]), stop_at_eos=True) == [text]
    assert all(tok.generable_mask()[i] for i in ids)


def test_plan_is_compact(tok: Tokenizer) -> None:
    # corpus words are single pieces: a one-step plan costs 17 pieces + 6 location ids
    assert len(tok.encode(PLANS[0], add_eos=False)) <= 24


_SPECIAL_LIKE = re.compile(
    r"<(?:extra_id|image_history|audio_history)_\d+>|<(?:image|audio)_input>|\[\w+\] \[\w\]"
)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60).filter(lambda s: "▁" not in s and not _SPECIAL_LIKE.search(s)))
def test_plain_text_round_trip_and_no_reserved_ids(text: str) -> None:
    tok = Tokenizer.default()
    ids = tok.encode(text, add_eos=False)
    assert all(3 <= i < tok.base_size for i in ids)  # byte fallback: never UNK, never reserved
    assert tok.decode(ids) == text


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["pick", "from", "(", ")", "and", "place", "to", "1:", "push", "Put", "the", "."]
            ),
            st.integers(0, 1199).map(lambda n: f"<extra_id_{n}>"),
            st.integers(1, 8).map(T.image_history_token),
            st.sampled_from(["<image_input>", "[Text] [S]"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_space_joined_sequences_round_trip(words: list[str]) -> None:
    tok = Tokenizer.default()
    text = " ".join(words)
    ids = tok.encode(text, add_eos=False)
    assert not any(i in tok.reserved_ids() for i in ids)
    assert tok.decode(ids) == text


def test_reserved_and_generable_ids(tok: Tokenizer) -> None:
    v = tok.base_size
    assert 0 < v < 32000 and tok.reserved_ids() == range(v, 32000)
    mask = tok.generable_mask()
    assert mask.shape == (33280,) and mask.dtype == bool
    assert not mask[0] and mask[1] and not mask[2]
    assert mask[3:v].all() and not mask[v:32000].any()
    assert mask[32000:33225].all() and not mask[33225:].any()
    for i in (v, 31999, 33225, 33279):
        with pytest.raises(ValueError, match=str(i)):
            tok.decode([i])


# --- the LLaMA path -----------------------------------------------------------------------------------


def test_llama_permutation(llama_like: tuple[Tokenizer, spm.SentencePieceProcessor]) -> None:
    tok, sp = llama_like
    assert tok.base_size == 32000 and len(tok.reserved_ids()) == 0
    # LLaMA has unk/bos/eos = 0/1/2; the layout needs bos/eos/unk = 0/1/2
    assert [tok.id_to_piece(i) for i in (0, 1, 2)] == ["<s>", "</s>", "<unk>"]
    assert tok.piece_to_id("<s>") == 0 and tok.piece_to_id("</s>") == 1 and tok.piece_to_id("<unk>") == 2
    text = "1: pick from the red heart zq00042 and place into the bowl"
    assert tok.encode(text, add_eos=False) == sp.encode(text)  # ids 3..31999 unchanged
    assert tok.encode(text)[-1] == 1
    for i in (3, 100, 31999):
        assert tok.id_to_piece(i) == sp.id_to_piece(i)
    mixed = f"{text} ( <extra_id_300> <extra_id_999> ) <image_history_8>"
    assert tok.decode(tok.encode(mixed)) == mixed
    assert tok.generable_mask()[3:32000].all()


def test_nontrivial_permutation_maps_unk() -> None:
    lines = (ASSETS / "tokenizer_corpus.txt").read_text().splitlines()
    model = train_sentencepiece(lines, 400, byte_fallback=False, unk_id=1, bos_id=2, eos_id=0)
    tok = Tokenizer(model)
    ids = tok.encode("pick ∑", add_eos=True)
    assert T.UNK_ID in ids and ids[-1] == T.EOS_ID and T.BOS_ID not in ids
    assert [tok.id_to_piece(i) for i in (0, 1, 2)] == ["<s>", "</s>", "<unk>"]


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["<extra_id_1200>", "x <image_history_9>", "<image_history_0>", "[Image] [X] go", "<extra_id_07>"]
)
def test_special_lookalikes_raise(tok: Tokenizer, text: str) -> None:
    with pytest.raises(ValueError, match="not one"):
        tok.encode(text)


def test_bad_inputs(tok: Tokenizer, tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        tok.encode(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tok.decode("abc")
    for bad in ([-1], [33280], [1.5], [[1, 2]]):
        with pytest.raises(ValueError):
            tok.decode(bad)
    for v in (-0.001, 1.0001, float("nan"), float("inf"), "0.5", None, True):
        with pytest.raises(ValueError, match="location value"):
            T.location_id(v)  # type: ignore[arg-type]
    for bad_loc in (31999, 33000, "<extra_id_199>", "<extra_id_1200>", "loc"):
        with pytest.raises(ValueError, match="location"):
            T.location_value(bad_loc)
    for k in (0, 9, 1.0):
        with pytest.raises(ValueError, match=r"1\.\.8"):
            T.image_history_token(k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"0\.\.199"):
        T.sentinel_id(200)
    with pytest.raises(FileNotFoundError):
        Tokenizer.from_file(tmp_path / "missing.model")
    (tmp_path / "junk.model").write_bytes(b"\x00not a model")
    with pytest.raises(ValueError, match="SentencePiece"):
        Tokenizer.from_file(tmp_path / "junk.model")
    with pytest.raises(ValueError, match="sha256"):
        Tokenizer.from_bytes(tok.model_bytes, expected_sha256="0" * 64)
    with pytest.raises(ValueError, match="piece"):
        tok.piece_to_id("▁certainly-not-a-piece")
    lines = (ASSETS / "tokenizer_corpus.txt").read_text().splitlines()
    with pytest.raises(ValueError, match="first three"):
        Tokenizer(train_sentencepiece(lines, 400, unk_id=5, bos_id=6, eos_id=7))
    with pytest.raises(ValueError, match="add_dummy_prefix"):
        Tokenizer(train_sentencepiece(lines, 400, add_dummy_prefix=False))


def test_too_many_pieces_rejected() -> None:
    lines = (ASSETS / "tokenizer_corpus.txt").read_text().splitlines()
    with pytest.raises(ValueError, match="32000"):
        train_sentencepiece(lines, 32001)
    out = io.BytesIO()  # the trainer itself builds a 32001-piece model; the loader must refuse it
    filler = [f"zq{i:05d}" for i in range(31000)]
    options = {**T.TRAINER_OPTIONS, "vocab_size": 32001, "user_defined_symbols": filler}
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=out, **options)
    with pytest.raises(ValueError, match="at most 32000"):
        Tokenizer(out.getvalue())


# --- the shipped assets ---------------------------------------------------------------------------------


def test_shipped_assets_are_consistent(tok: Tokenizer) -> None:
    manifest = json.loads((ASSETS / "tokenizer_manifest.json").read_text())
    assert (
        tok.sha256
        == manifest["model_sha256"]
        == hashlib.sha256((ASSETS / manifest["model_file"]).read_bytes()).hexdigest()
    )
    assert tok.base_size == manifest["vocab_size"]
    corpus = (ASSETS / "tokenizer_corpus.txt").read_bytes()
    assert hashlib.sha256(corpus).hexdigest() == manifest["corpus_sha256"]
    assert len(corpus.decode().splitlines()) == manifest["corpus_lines"]
    assert manifest["trainer_options"] == T.TRAINER_OPTIONS


def test_corpus_script_reproduces_frozen_corpus() -> None:
    spec = importlib.util.spec_from_file_location(
        "build_tokenizer_corpus", REPO / "tools/build_tokenizer_corpus.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = module.build_corpus()
    assert (ASSETS / "tokenizer_corpus.txt").read_text().splitlines() == lines
    assert len(module.vima_textures()) == 82 and len(module.NEXT_ACTION_PHRASES) == 19


def test_training_is_deterministic_and_reproduces_shipped_model(tok: Tokenizer) -> None:
    lines = (ASSETS / "tokenizer_corpus.txt").read_text().splitlines()
    a = train_sentencepiece(lines, tok.base_size)
    assert a == train_sentencepiece(lines, tok.base_size)
    manifest = json.loads((ASSETS / "tokenizer_manifest.json").read_text())
    if spm.__version__ != manifest["sentencepiece_version"]:
        pytest.skip(f"shipped model was trained with sentencepiece {manifest['sentencepiece_version']}")
    assert a == tok.model_bytes


def test_save_load_and_pickle(tok: Tokenizer, tmp_path: Path) -> None:
    path = tok.save(tmp_path / "ckpt" / "tokenizer.model")
    again = Tokenizer.from_file(path, expected_sha256=tok.sha256)
    assert again == tok and again.sha256 == tok.sha256
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.encode(PLANS[2]) == tok.encode(PLANS[2])
    assert Tokenizer.default() is Tokenizer.default()
