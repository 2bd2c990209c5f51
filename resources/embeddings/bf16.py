"""The `bf16` backend: the packaged all-MiniLM-L6-v2 in PyTorch, its matrix products in bfloat16
(`torch.autocast`: weights and activations rounded to bf16, sums kept in fp32; LayerNorm, softmax
and pooling in fp32), for CPUs with bf16 instructions (avx512_bf16, AMX). There it runs ~2x plain
sentence-transformers at kNN@10 agreement 0.99 (BENCHMARKS.md); without them bf16 is emulated and
5x slower than fp32, so it refuses to start (the `local` provider picks `onnx` then).

- Check before use: on first use on a machine (per weights, torch version and CPU), the backend
  embeds resources/embeddings/check.py's texts beside the plain model; every text's two vectors
  must agree to cosine ≥ MIN_COSINE and no pairwise similarity may move by more than MAX_SHIFT,
  or it refuses to start. The figures are logged and kept in BURRY_MODEL_CACHE (check.json), so
  later starts skip the comparison. Nothing is downloaded.
- Inference: the fast tokenizer encodes a chunk at once, texts go longest first in batches of 16
  alike lengths, each padded only to its own longest text. The batches are shared among one
  worker thread per CPU, each running torch on one thread (data-parallel, no intra-op threads):
  nothing waits at torch's per-operation barriers, which on a shared, loaded machine cost 2-4x
  (measured under load average 4-5 on 2 CPUs: 16-27 texts/s with 2 intra-op threads, 56-93 with
  single-threaded workers); torch releases the GIL while it computes.
"""

from __future__ import annotations

import json
import logging
import os
import platform
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
from resources.embeddings.check import BF16_FLAGS, CHECK_TEXTS, agreement, cpu_flags, has_bf16

log = logging.getLogger(__name__)

MIN_COSINE = 0.999  # measured 0.99995 on the check texts, 0.99997 on 1,000 tickets
MAX_SHIFT = 0.005  # measured 0.0014 (avx512_bf16); int8 dynamic quantization shifts ~0.011


def check_file(model_dir: Path, max_tokens: int, cache_dir: Path | None = None) -> Path:
    """Where this machine's check of the bf16 backend is kept: per weights, truncation, torch
    version and the CPU's bf16 instructions (AMX and avx512_bf16 kernels round differently)."""
    import torch

    cpu = "-".join(sorted(f for f in cpu_flags() if f in BF16_FLAGS)) or "nobf16"
    weights = file_digest(model_dir / "model.safetensors")
    key = f"{weights}-{max_tokens}-torch{torch.__version__}-{platform.machine()}-{cpu}"
    return (cache_dir or settings.model_cache_dir()) / f"{LOCAL_MODEL}-bf16-{key.replace('+', '_')}" / "check.json"


def _judge(min_cosine: float, max_shift: float, source: Path | None) -> None:
    if min_cosine < MIN_COSINE or max_shift > MAX_SHIFT:
        raise RuntimeError(
            f"the bf16 backend disagrees with the plain model on this machine (cosine min {min_cosine:.5f}, "
            f"required {MIN_COSINE}; similarity shift max {max_shift:.4f}, allowed {MAX_SHIFT}"
            + (f"; measured before, {source}" if source else "")
            + "): use BURRY_EMBEDDING_PROVIDER=onnx"
        )


class Bf16Embedder:
    provider = "bf16"

    def __init__(
        self,
        max_tokens: int = LOCAL_MAX_TOKENS,
        batch_size: int = 16,
        workers: int | None = None,
        model_dir: Path | None = None,
        cache_dir: Path | None = None,
    ):
        if not has_bf16():
            raise RuntimeError(
                "the bf16 embedding backend needs a CPU with bf16 instructions (avx512_bf16 or amx_bf16); "
                "this one has none, and emulated bf16 is slower than fp32: use BURRY_EMBEDDING_PROVIDER=onnx "
                "(or local, which picks it)"
            )
        settings.offline_models()
        import torch
        from tokenizers import Tokenizer
        from transformers import AutoModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # "Loading weights" bars in every CLI call

        self._torch = torch
        self.model_dir = model_dir or local_model_path()
        self.model = LOCAL_MODEL
        self.dimension = LOCAL_DIMENSION
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.bert = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True).eval()
        self.workers = workers or max(1, len(os.sched_getaffinity(0)))
        self._lock = threading.Lock()
        self._pool = self._start_workers()
        try:
            self.check = self._checked(cache_dir)
        except BaseException:
            self._pool.shutdown(wait=False)
            raise

    def _checked(self, cache_dir: Path | None) -> dict:
        """The check against the plain model: read from this machine's cache, or made now."""
        path = check_file(self.model_dir, self.max_tokens, cache_dir)
        if path.exists():  # measured before on this machine; judged by today's thresholds
            result = json.loads(path.read_text())
            _judge(result["min_cosine"], result["max_similarity_shift"], path)
            return result
        from resources.embeddings.local import SentenceTransformerEmbedder

        started = time.perf_counter()
        reference = SentenceTransformerEmbedder(self.model_dir, max_tokens=self.max_tokens).embed(CHECK_TEXTS)
        found = agreement(reference.vectors, self.embed(CHECK_TEXTS).vectors)
        result = {
            **found.as_dict(),
            "min_cosine_required": MIN_COSINE,
            "max_shift_allowed": MAX_SHIFT,
            "check_seconds": round(time.perf_counter() - started, 1),
        }
        _judge(found.min_cosine, found.max_shift, None)
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f"check.json.tmp{os.getpid()}")
        scratch.write_text(json.dumps(result, indent=2))
        scratch.replace(path)
        log.warning(
            "bf16 backend of %s checked against sentence-transformers on %d texts: cosine min %.5f, mean %.5f, "
            "similarity shift max %.4f (%s)",
            LOCAL_MODEL,
            found.texts,
            found.min_cosine,
            found.mean_cosine,
            found.max_shift,
            path,
        )
        return result

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]

    def _start_workers(self) -> ThreadPoolExecutor:
        """`workers` threads, each with one torch thread (its own OpenMP/oneDNN thread count), all
        started now; torch's default for threads started later is left as it was."""
        torch = self._torch
        before = torch.get_num_threads()
        ready = threading.Barrier(self.workers + 1)

        def single_threaded() -> None:
            torch.set_num_threads(1)
            ready.wait()

        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="bf16-embedder", initializer=single_threaded)
        for _ in range(self.workers):
            pool.submit(lambda: None)
        ready.wait()
        torch.set_num_threads(before)
        return pool

    def _forward(self, picked: list[int], encoded: list, lengths: list[int], out: np.ndarray) -> None:
        torch = self._torch
        width = max(lengths[i] for i in picked)
        ids = np.zeros((len(picked), width), np.int64)
        mask = np.zeros((len(picked), width), np.int64)
        for row, i in enumerate(picked):
            ids[row, : lengths[i]] = encoded[i].ids
            mask[row, : lengths[i]] = 1
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            hidden = self.bert(
                input_ids=torch.from_numpy(ids),
                attention_mask=torch.from_numpy(mask),
                token_type_ids=torch.zeros_like(torch.from_numpy(ids)),
            ).last_hidden_state
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden.float().numpy() * weights).sum(axis=1)
        out[picked] = summed / np.maximum(weights.sum(axis=1), 1e-9)

    def embed(self, texts: Sequence[str]) -> Embedded:
        started = time.perf_counter()
        if not texts:
            return Embedded(np.zeros((0, self.dimension), np.float32), 0, 0.0)
        encoded = self.tokenizer.encode_batch(list(texts))
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


if __name__ == "__main__":  # python -m resources.embeddings.bf16: check (once) on this machine and print it
    print(json.dumps(Bf16Embedder().check, indent=2))
