"""Before a faster backend of the packaged model is used, it is checked against the plain one, and
the CPU decides which faster backend that is. No heavy imports here.

- The check: the plain model (sentence-transformers, fp32) and the candidate embed the same fixed
  texts (short and long, tickets and ads); every text's two vectors must agree to `min_cosine`, and
  no pairwise similarity between the texts may move by more than `max_shift` (what decides which
  neighbours a search returns). kNN@10 agreement on real tickets is what the benchmark measures
  (bench/embeddings.py); this check is the guard that runs on every machine before first use.
- The CPU: bf16 only pays with bf16 instructions (avx512_bf16, or AMX on Intel since Sapphire
  Rapids): 2.1x plain sentence-transformers' work per CPU second there (AMD EPYC, avx512_bf16),
  5x slower than fp32 without them (emulated).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BF16_FLAGS = ("avx512_bf16", "amx_bf16")

CHECK_TEXTS = [
    "I was charged twice for my order and need a refund.",
    "Refund not received after returning the item two weeks ago",
    "The app crashes every time I try to log in on my phone.",
    "How do I reset my password? The reset email never arrives.",
    "My package was delivered to the wrong address.",
    "Can I change the shipping address of an order I already placed?",
    "The product stopped working after a software update. Please assist.",
    "Billing inquiry: the invoice shows a plan I never subscribed to.",
    "Waterproof hiking boots with free shipping",
    "Japanese chef knives, razor sharp, forged steel",
    "Data loss after syncing my account across two devices",
    "Cancel my subscription and delete my account",
    "Network problem: the device keeps dropping the Wi-Fi connection",
    "Peripheral compatibility issue with the new laptop dock",
    "ok",
    "Thanks for the quick help, the issue is solved now!",
    # Long texts (123-139 tokens): rounding errors add up over the sequence.
    "Product setup. I'm having an issue with the GoPro Hero. Please assist. I've followed the setup "
    "instructions in the manual step by step, updated the firmware from the website, reset the device "
    "to factory settings twice and tried three different memory cards, but the camera still freezes on "
    "the start screen after a few seconds. The battery is fully charged and the light blinks red. I "
    "bought it four weeks ago for a trip next month and would like either a working replacement or a "
    "refund before I leave. Order number and receipt attached. I already contacted the store but they "
    "sent me to you.",
    "Billing inquiry. My invoice for March lists a premium plan and two add-ons I never ordered. I "
    "downgraded to the basic plan in January and have the confirmation email; February was billed "
    "correctly. Since then I was charged 49.99 instead of 9.99, and a late fee appeared although the "
    "payment went through on time from my credit card. Please correct the invoice, refund the "
    "difference and the fee to my card, and confirm in writing which plan my account is on now. I "
    "also want to know why the change happened so it does not repeat next month, and whether the "
    "add-ons were activated on my account at all.",
    "Delivery problem. The parcel tracking has shown 'out for delivery' for nine days. The courier's "
    "hotline says the package was handed to a local partner, the partner says they never received it, "
    "and the shop says to wait. I need the headphones for work and paid for express shipping, which "
    "clearly was not express. Please either locate the parcel, send a replacement by a courier that "
    "actually delivers, or refund the order including the shipping cost. I can be reached by phone "
    "during office hours; please do not ask me again for the tracking number, it is in every one of "
    "my previous five emails about this order.",
    "Network problem. Since the router firmware update last night the smart TV, two laptops and the "
    "printer keep dropping the Wi-Fi connection every ten to fifteen minutes, while phones stay "
    "connected. Restarting the router helps for a short while only. I tried changing the channel, "
    "separating the 2.4 and 5 GHz bands, disabling band steering and resetting the network settings "
    "on one laptop, without any change. The log shows repeated deauthentication messages. Is there a "
    "way to roll back the firmware or a fix coming soon? Working from home is impossible like this.",
]


@dataclass(frozen=True)
class Agreement:
    texts: int
    min_cosine: float  # the lowest cosine between a text's two vectors
    mean_cosine: float
    max_shift: float  # the largest change of a pairwise similarity between two texts

    def passes(self, min_cosine: float, max_shift: float) -> bool:
        return self.min_cosine >= min_cosine and self.max_shift <= max_shift

    def as_dict(self) -> dict:
        return {
            "texts": self.texts,
            "min_cosine": self.min_cosine,
            "mean_cosine": self.mean_cosine,
            "max_similarity_shift": self.max_shift,
        }


def agreement(reference: np.ndarray, candidate: np.ndarray) -> Agreement:
    """How closely `candidate` (n, d) follows `reference` (n, d); both L2-normalised."""
    if reference.shape != candidate.shape:
        raise ValueError(f"vectors of shape {candidate.shape} against {reference.shape}")
    cosines = (reference * candidate).sum(axis=1)
    shift = np.abs(reference @ reference.T - candidate @ candidate.T)
    return Agreement(len(reference), float(cosines.min()), float(cosines.mean()), float(shift.max()))


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo); empty where that cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return frozenset()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def has_bf16(flags: Iterable[str] | None = None) -> bool:
    """Whether the CPU computes bf16 matrix products in hardware (avx512_bf16 or AMX)."""
    found = cpu_flags() if flags is None else frozenset(flags)
    return any(flag in found for flag in BF16_FLAGS)
