"""The MUST-tests of DESIGN.md's leak-free criterion, on real E. coli windows.

Each detector is shown to fire on a deliberately broken scorer, so that a pass means something.
"""

from __future__ import annotations

import dataclasses
from functools import cache, lru_cache
from typing import Any

import numpy as np
import pytest

from genobench_hf import testing as T
from genobench_hf.alignment import Alignment
from genobench_hf.scoring.base import BASES, ScoreRequest, SiteScores
from genobench_hf.scoring.candidate import CandidateScorer, Unit, expand_units
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.frames import frame_units
from genobench_hf.scoring.loading import LoadedModel, wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer

MASKED = ["char", "nt6", "dnabert6", "bpe"]
CAUSAL = ["char", "nt6", "bpe"]
PROTOCOLS = ["imputation", "next_nucleotide", "imputation_dense"]


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models run faster on one thread


@cache
def tokenizer(name: str, causal: bool = False) -> Any:
    if name == "char":
        return T.char_tokenizer(causal=causal)
    if name == "nt6":
        return T.kmer_tokenizer(6, causal=causal)
    if name == "dnabert6":
        return T.kmer_tokenizer(6, overlapping=True, causal=causal)
    return T.bpe_tokenizer(causal=causal)


@lru_cache(maxsize=1)
def dna() -> str:
    return T.real_dna(300_000, offset=2_000_000)


def requests(protocol: str, n: int = 40, seed: int = 0) -> list[ScoreRequest]:
    return T.sample_requests(dna(), protocol, n, seed=seed)


def scorer(loaded: LoadedModel, cls: type | None = None) -> Any:
    cls = cls or (MaskedLMScorer if loaded.model_kind == "masked" else CausalLMScorer)
    return cls(loaded)


def masked(name: str, model_cls: Any) -> LoadedModel:
    tok = tokenizer(name)
    model = model_cls.for_tokenizer(tok) if isinstance(model_cls, type) else model_cls(tok)
    return wrap_model(model, tok, model_kind="masked")


def causal(name: str, model_cls: Any) -> LoadedModel:
    tok = tokenizer(name, causal=True)
    model = model_cls.for_tokenizer(tok) if isinstance(model_cls, type) else model_cls(tok)
    return wrap_model(model, tok, model_kind="causal")


def run(sc: Any, reqs: list[ScoreRequest], batch_size: int = 8) -> tuple[np.ndarray, float, float]:
    scores = sc.score(reqs, batch_size)
    bits, acc = T.bits_and_accuracy(reqs, scores)
    return np.concatenate([s.probs for s in scores]), bits, acc


# --------------------------------------------------------------------------- uniform model: exactly 2 bits
# Causal BPE is left out: a model uniform over TOKENS is not uniform over nucleotides under exact Bayes
# (candidates with fewer tokens are likelier); there the test is agreement with a brute-force exact-Bayes
# reference (tests/test_causal_bayes.py, DESIGN.md "Leak-free criterion").
CASES = [("masked", n, p) for n in MASKED for p in PROTOCOLS] + [
    ("causal", n, p) for n in CAUSAL if n != "bpe" for p in PROTOCOLS
]


@pytest.mark.parametrize(("family", "name", "protocol"), CASES)
def test_uniform_model_scores_exactly_two_bits(family: str, name: str, protocol: str) -> None:
    loaded = masked(name, T.UniformMaskedLM) if family == "masked" else causal(name, T.UniformCausalLM)
    sc = scorer(loaded)
    if sc.skip_reason(protocol) is not None:
        assert protocol == "imputation_dense" and (family == "causal" or name == "bpe")
        return
    probs, bits, _ = run(sc, requests(protocol, 20))
    assert (probs == 0.25).all()
    assert bits == 2.0


# --------------------------------------------------------------------------- copy MLM: chance, leaks caught
@pytest.mark.parametrize("name", MASKED)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_copy_masked_lm_scores_chance(name: str, protocol: str) -> None:
    sc = scorer(masked(name, T.CopyMaskedLM))
    if sc.skip_reason(protocol) is not None:
        return
    reqs = requests(protocol, 300 if protocol != "imputation_dense" else 30)
    probs, bits, acc = run(sc, reqs, batch_size=32)
    assert len(probs) >= 250
    assert bits == pytest.approx(2.0, abs=1e-9)
    assert acc == pytest.approx(0.25, abs=0.07)


class _Unblinded:
    """Broken on purpose: units keep the true base at the site (wherever the frame rule cut the unit)."""

    def _units(self, reqs: Any) -> list[Unit]:
        out = []
        for u in super()._units(reqs):  # type: ignore[misc]
            seq, start = bytearray(u.seq, "ascii"), getattr(u, "start", 0)
            for h in u.hidden:
                seq[h] = ord(reqs[u.request].window[h + start])
            out.append(dataclasses.replace(u, seq=seq.decode()))
        return out


class LeakyNoMask(_Unblinded, MaskedLMScorer):
    def _tokens_to_mask(self, a: Alignment, site: np.ndarray, token: np.ndarray) -> np.ndarray:
        return np.zeros(0, dtype=np.int64)


class LeakyCentreOnly(_Unblinded, MaskedLMScorer):
    """The classic DNABERT-1 mistake: mask only the centre overlapping k-mer."""

    def _tokens_to_mask(self, a: Alignment, site: np.ndarray, token: np.ndarray) -> np.ndarray:
        return np.unique(token)[len(np.unique(token)) // 2 :][:1]


class BlindedCentreOnly(MaskedLMScorer):
    def _tokens_to_mask(self, a: Alignment, site: np.ndarray, token: np.ndarray) -> np.ndarray:
        return LeakyCentreOnly._tokens_to_mask(self, a, site, token)  # type: ignore[arg-type]


class LeakyCandidate(_Unblinded, CandidateScorer):
    """Scores each candidate's tokens against the TRUE sequence left unmasked."""

    def _masked_items(self, cands: list[str], unit: Unit) -> Any:
        items, m = super()._masked_items(cands, unit)
        truth = self.aligner.align(unit.seq)
        for it in items:
            if len(truth) == len(it.ids):
                it.ids = truth.input_ids.copy()
        return items, m


@pytest.mark.parametrize(
    ("name", "cls"),
    [("char", LeakyNoMask), ("nt6", LeakyNoMask), ("dnabert6", LeakyCentreOnly), ("bpe", LeakyCandidate)],
)
def test_copy_masked_lm_catches_leaky_scorers(name: str, cls: type) -> None:
    loaded = masked(name, T.CopyMaskedLM)
    _, bits, acc = run(scorer(loaded, cls), requests("imputation", 200), batch_size=32)
    assert acc > 0.75 and bits < 1.0


def test_centre_only_masking_is_caught_even_on_blinded_windows() -> None:
    """With the site overwritten, unmasked neighbours echo the fill base: far worse than chance."""
    _, bits, _ = run(
        scorer(masked("dnabert6", T.CopyMaskedLM), BlindedCentreOnly), requests("imputation", 100)
    )
    assert bits > 4.0


# --------------------------------------------------------------------------- copy causal LM: off-by-one detector
class OffByOne(CausalLMScorer):
    def _left_view(self, request: ScoreRequest, n_prefix: int) -> tuple[str, np.ndarray]:
        sites = np.asarray(request.sites)
        return request.window[: int(sites.max()) + 1], sites + n_prefix


@pytest.mark.parametrize("name", CAUSAL)
def test_copy_causal_lm_gains_nothing_on_next_nucleotide(name: str) -> None:
    loaded = causal(name, T.CopyCausalLM)
    reqs = requests("next_nucleotide", 300)
    _, bits, acc = run(scorer(loaded), reqs, batch_size=32)
    assert acc < 0.4 and bits > 2.0
    if name == "char":
        _, _, leaky_acc = run(OffByOne(loaded), reqs, batch_size=32)
        assert leaky_acc > 0.99


# --------------------------------------------------------------------------- invariance to the hidden base
def _other_bases(reqs: list[ScoreRequest], shift: int) -> list[ScoreRequest]:
    out = []
    for q in reqs:
        w = bytearray(q.window, "ascii")
        for s in q.sites:
            w[s] = ord(BASES[(BASES.index(q.window[s]) + shift) % 4])
        out.append(ScoreRequest(w.decode(), q.sites, q.protocol))
    return out


INVARIANCE = [("masked", n, p) for n in MASKED for p in PROTOCOLS] + [
    ("causal", n, p) for n in ("char", "bpe") for p in ("imputation", "next_nucleotide")
]


@pytest.mark.parametrize(("family", "name", "protocol"), INVARIANCE)
def test_changing_the_hidden_base_changes_nothing(family: str, name: str, protocol: str) -> None:
    loaded = masked(name, T.tiny_masked_lm) if family == "masked" else causal(name, T.tiny_causal_lm)
    sc = scorer(loaded)
    if sc.skip_reason(protocol) is not None:
        return
    reqs = requests(protocol, 12, seed=1)
    ref = np.concatenate([s.probs for s in sc.score(reqs, 8)])
    assert np.abs(ref - 0.25).max() > 0.05  # the model is informative, so a leak would show
    for shift in (1, 2, 3):
        got = np.concatenate([s.probs for s in sc.score(_other_bases(reqs, shift), 8)])
        assert np.array_equal(got, ref)


# --------------------------------------------------------------------------- fast paths == candidate scorer
AGREE = [
    ("masked", "char", "imputation"),
    ("masked", "char", "next_nucleotide"),
    ("masked", "nt6", "imputation"),
    ("masked", "nt6", "next_nucleotide"),
    ("masked", "dnabert6", "imputation"),
    ("masked", "dnabert6", "next_nucleotide"),
    ("causal", "char", "next_nucleotide"),
    ("causal", "char", "imputation"),
]


class FramedLikeCandidate(MaskedLMScorer):
    """The fast path on the candidate scorer's frames (no free positions: next_nucleotide ends a token
    at the site), so both compute the same quantity; the free-position frames have their own
    brute-force test (tests/test_frames.py)."""

    def _units(self, requests: Any) -> list[Unit]:
        return frame_units(expand_units(requests), requests, self.aligner, pads=False)  # type: ignore[return-value]


def _agreement(sc: Any, cand: CandidateScorer, protocol: str) -> float:
    reqs = requests(protocol, 30, seed=2)
    fast: list[SiteScores] = sc.score(reqs, 8)
    slow = cand.score(reqs, 8)
    assert fast[0].path != slow[0].path or fast[0].path == "causal.bayes"
    return float(max(np.abs(f.probs - s.probs).max() for f, s in zip(fast, slow, strict=True)))


@pytest.mark.parametrize(("family", "name", "protocol"), AGREE)
def test_fast_paths_agree_with_candidate_scorer(family: str, name: str, protocol: str) -> None:
    loaded = masked(name, T.tiny_masked_lm) if family == "masked" else causal(name, T.tiny_causal_lm)
    fast = scorer(loaded, FramedLikeCandidate if family == "masked" and name != "char" else None)
    assert _agreement(fast, CandidateScorer(loaded), protocol) < 1e-5


class IgnoresKnownNeighbours(MaskedLMScorer):
    """Broken on purpose: marginalises over every k-mer, not only the consistent ones."""

    def _plan(self, unit: Unit) -> Any:
        plan = super()._plan(unit)
        plan.allowed[:] = True
        return plan


def test_agreement_test_catches_a_wrong_fast_path() -> None:
    loaded = masked("nt6", T.tiny_masked_lm)
    assert _agreement(IgnoresKnownNeighbours(loaded), CandidateScorer(loaded), "imputation") > 1e-3
    causal_lm = causal("char", T.tiny_causal_lm)
    assert _agreement(OffByOne(causal_lm), CandidateScorer(causal_lm), "next_nucleotide") > 1e-3
