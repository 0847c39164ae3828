"""Train the project's SentencePiece base from the frozen corpus, deterministically.

Reads ``model/assets/tokenizer_corpus.txt`` (built by ``tools/build_tokenizer_corpus.py``), trains a
byte-fallback BPE model with ``uio_agent.model.tokenizer.TRAINER_OPTIONS`` (one thread, in-memory input
and output, so the bytes depend only on the corpus, the options and the sentencepiece version), and
writes ``model/assets/uio_agent_spm.model`` plus ``tokenizer_manifest.json`` (sha256 of both files,
vocabulary size, sentencepiece version). The shipped model is what ``Tokenizer.default()`` loads;
checkpoints pin it by sha256, so retrain only deliberately.

    python tools/train_tokenizer.py [--vocab-size 2048] [--assets src/uio_agent/model/assets]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import sentencepiece as spm

from uio_agent.model.tokenizer import DEFAULT_MODEL_FILE, TRAINER_OPTIONS, Tokenizer, train_sentencepiece

DEFAULT_ASSETS = Path(__file__).resolve().parents[1] / "src/uio_agent/model/assets"
CORPUS_FILE = "tokenizer_corpus.txt"
MANIFEST_FILE = "tokenizer_manifest.json"
DEFAULT_VOCAB_SIZE = 2048  # the corpus supports at most ~2600 BPE pieces; 2048 keeps whole words


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def train(assets: Path, vocab_size: int) -> dict[str, object]:
    """Train from ``assets/tokenizer_corpus.txt`` and write the model and manifest; return the manifest."""
    corpus_bytes = (assets / CORPUS_FILE).read_bytes()
    lines = corpus_bytes.decode("utf-8").splitlines()
    model = train_sentencepiece(lines, vocab_size)
    tok = Tokenizer(model)  # validates the layout constraints before anything is written
    manifest: dict[str, object] = {
        "model_file": DEFAULT_MODEL_FILE,
        "model_sha256": tok.sha256,
        "vocab_size": tok.base_size,
        "corpus_file": CORPUS_FILE,
        "corpus_sha256": hashlib.sha256(corpus_bytes).hexdigest(),
        "corpus_lines": len([line for line in lines if line.strip()]),
        "sentencepiece_version": spm.__version__,
        "trainer_options": TRAINER_OPTIONS,
    }
    _write_atomic(assets / DEFAULT_MODEL_FILE, model)
    _write_atomic(assets / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--assets", type=Path, default=DEFAULT_ASSETS, help="folder with the corpus; outputs go here"
    )
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE, help="number of base pieces V")
    args = parser.parse_args()
    manifest = train(args.assets, args.vocab_size)
    print(json.dumps({k: v for k, v in manifest.items() if k != "trainer_options"}, indent=2))


if __name__ == "__main__":
    main()
