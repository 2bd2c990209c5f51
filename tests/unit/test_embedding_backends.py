"""Which backend runs the packaged model on which CPU, and the agreement check that guards it."""

from __future__ import annotations

import numpy as np
import pytest

from resources.embeddings.check import agreement, cpu_flags, has_bf16
from resources.embeddings.providers import PROVIDERS, EmbedderConfig, local_backend

ZEN4 = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu vme avx2 avx512f avx512bw avx512vl avx512_bf16 avx512_vnni
bugs\t\t: sysret_ss_attrs
"""
SAPPHIRE_RAPIDS = "flags\t\t: fpu avx2 avx512f avx512_vnni amx_bf16 amx_tile amx_int8\n"
AVX2_ONLY = "flags\t\t: fpu sse4_2 avx avx2 fma\n"
ARM = "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 bf16\n"


def test_the_cpu_picks_the_backend():
    assert "avx512_bf16" in cpu_flags(ZEN4) and "avx2" in cpu_flags(AVX2_ONLY)
    assert cpu_flags("no flags here") == frozenset()
    assert [local_backend(cpu_flags(c)) for c in (ZEN4, SAPPHIRE_RAPIDS, AVX2_ONLY, ARM)] == [
        "bf16",
        "bf16",
        "onnx",
        "onnx",
    ]
    # this machine: whatever its flags say
    assert local_backend() == ("bf16" if has_bf16(cpu_flags()) else "onnx")


def test_every_local_backend_shares_the_models_space_and_unknown_providers_are_named():
    for provider in ("local", "bf16", "onnx", "sentence-transformers"):
        assert EmbedderConfig(provider=provider).space_identity() == ("all-MiniLM-L6-v2", 384)
    with pytest.raises(ValueError, match="sentence-transformers") as raised:
        EmbedderConfig(provider="fp32").space_identity()
    assert all(p in str(raised.value) for p in PROVIDERS)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_agreement_check_tells_a_faithful_backend_from_a_drifting_one():
    rng = np.random.default_rng(7)
    reference = _unit(rng.standard_normal((20, 384)).astype(np.float32))
    same = agreement(reference, reference.copy())
    assert same.texts == 20 and same.min_cosine > 0.99999 and same.max_shift < 1e-5
    assert same.passes(0.999, 0.005)
    # bf16-sized rounding (relative 2^-8 per component) stays within the thresholds
    rounded = _unit(reference * (1 + rng.uniform(-(2**-8), 2**-8, reference.shape)).astype(np.float32))
    assert agreement(reference, rounded).passes(0.999, 0.005)
    # one text's vector drifting is caught by its cosine, a small drift of all of them by the shift
    drifted = reference.copy()
    drifted[3] = _unit((reference[3] + 0.1 * reference[4])[None])[0]
    assert agreement(reference, drifted).min_cosine < 0.999 and not agreement(reference, drifted).passes(0.999, 0.005)
    noisy = _unit(reference + 0.004 * rng.standard_normal(reference.shape).astype(np.float32))
    found = agreement(reference, noisy)
    assert found.min_cosine > 0.99 and found.max_shift > 0.005 and not found.passes(0.99, 0.005)
    with pytest.raises(ValueError, match="shape"):
        agreement(reference, reference[:5])
