"""The frame rule for fixed-frame k-mer tokenizers (issue 11, points 3 and 4): every site is covered by a
token, each site's frame offset is drawn uniformly from its identity (never its base), the free positions
the masked path adds are marginalised exactly, and sites no token covers are left out and counted."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from genobench_hf import testing as T
from genobench_hf.alignment import Aligner, TokenizerKind
from genobench_hf.execution import ChunkedExecutor
from genobench_hf.scoring.base import BASES, ScoreRequest, SiteScores
from genobench_hf.scoring.candidate import LOG_FLOOR, CandidateScorer, expand_units
from genobench_hf.scoring.frames import FramedUnit, frame_summary, frame_units
from genobench_hf.scoring.loading import LoadedModel, wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer
from genobench_hf.tasks.imputation import site_metrics
from genobench_hf.tasks.sampling import Window, sample_sites

PROTOCOLS = ("imputation", "next_nucleotide", "imputation_dense")
KINDS = {  # name -> (tokenizer factory, kind): overlapping 5-mers at strides 1..3 and NT-style 6-mers
    "5s1": (lambda causal=False: T.kmer_tokenizer(5, overlapping=True, causal=causal), "kmer:5:1"),
    "5s2": (lambda causal=False: T.kmer_tokenizer(5, overlapping=True, causal=causal), "kmer:5:2"),
    "5s3": (lambda causal=False: T.kmer_tokenizer(5, overlapping=True, causal=causal), "kmer:5:3"),
    "nt6": (lambda causal=False: T.kmer_tokenizer(6, causal=causal), "kmer:6"),
}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models run faster on one thread


@cache
def dna() -> str:
    return T.real_dna(200_000, offset=1_000_000)


@cache
def loaded(name: str, causal: bool = False) -> LoadedModel:
    factory, kind = KINDS[name]
    tok = factory(causal)
    model = T.tiny_causal_lm(tok) if causal else T.tiny_masked_lm(tok)
    return wrap_model(model, tok, tokenizer_kind=kind)


def aligner(name: str) -> Aligner:
    factory, kind = KINDS[name]
    return Aligner(factory(), TokenizerKind.parse(kind))  # type: ignore[arg-type]


def reqs(protocol: str, n: int, window: int, seed: int = 0) -> list[ScoreRequest]:
    return T.sample_requests(dna(), protocol, n, window=window, seed=seed)


def frames_of(scores: list[SiteScores]) -> np.ndarray:
    assert all(s.frame is not None for s in scores)
    return np.concatenate([s.frame for s in scores])  # type: ignore[misc]


# --------------------------------------------------------------------------- point 3: every site covered
@pytest.mark.parametrize("name", ["5s1", "5s2", "5s3", "nt6"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_masked_every_site_is_covered_and_never_exactly_chance(name: str, protocol: str) -> None:
    """Before the rule, 5-mers at stride 2 gave next_nucleotide 2.000 bits at windows 256 and 258: the last
    site was covered by no token and scored exactly 0.25."""
    sc = MaskedLMScorer(loaded(name))
    for window in (64, 65, 255, 256, 257, 258):
        r = reqs(protocol, 4 if protocol == "imputation_dense" else 12, window, seed=window)
        scores = sc.score(r, 8)
        probs, frame = np.concatenate([s.probs for s in scores]), frames_of(scores)
        assert (frame[:, 0] >= 0).all(), (window, frame[frame[:, 0] < 0])
        assert not (probs == 0.25).all(axis=1).any(), window  # a random model is never exactly flat
        k = TokenizerKind.parse(KINDS[name][1]).k
        assert (frame[:, 1] == k).all()  # in a full k-mer: never a single-nucleotide tail


@pytest.mark.parametrize("name", ["5s1", "5s2", "5s3", "nt6"])
@pytest.mark.parametrize("protocol", ["imputation", "next_nucleotide"])
def test_candidate_scorer_frames_cover_every_site(name: str, protocol: str) -> None:
    sc = CandidateScorer(loaded(name, causal=True))
    for window in (64, 255, 256, 257, 258):
        scores = sc.score(reqs(protocol, 6, window, seed=window), 8)
        frame, probs = frames_of(scores), np.concatenate([s.probs for s in scores])
        assert (frame[:, 0] >= 0).all() and not (probs == 0.25).all(axis=1).any()
        if protocol == "next_nucleotide":  # nothing after the site may be seen: the site ends its k-mer
            k = TokenizerKind.parse(KINDS[name][1]).k
            assert (frame == [k - 1, k]).all()  # type: ignore[operator]


def test_site_no_token_can_cover_is_left_out_and_counted() -> None:
    """A causal 5-mer model cannot cover the site of a 4-nt next_nucleotide window: offset -1, not 0.25."""
    sc = CandidateScorer(loaded("5s2", causal=True))
    short = [ScoreRequest("ACG" + b, (3,), "next_nucleotide", (BASES.index(b),)) for b in "ACGT"]
    long_ = reqs("next_nucleotide", 8, 64)
    scores = sc.score(short + long_, 8)
    assert (frames_of(scores[:4])[:, 0] == -1).all() and (frames_of(scores[4:])[:, 0] >= 0).all()
    windows = [Window.make("g", 0, 0, q.window, q.sites) for q in short + long_]
    m = site_metrics(windows, scores, n_bootstrap=0, seed=0)
    assert m["n_uncovered"] == 4 and m["n_scored"] == 8
    only = site_metrics(windows[:4], scores[:4], n_bootstrap=0, seed=0)
    assert "skipped" in only and only["n_uncovered"] == 4


# --------------------------------------------------------------------------- point 4: drawn frame offsets
def _offsets(name: str, protocol: str, requests: list[ScoreRequest], pads: bool = True) -> np.ndarray:
    units = frame_units(expand_units(requests), requests, aligner(name), pads=pads)
    assert all(isinstance(u, FramedUnit) for u in units)
    return np.concatenate([u.offsets for u in units])  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "period"), [("nt6", 6), ("5s2", 2), ("5s3", 3)])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_offsets_are_uniform_over_the_frame(name: str, period: int, protocol: str) -> None:
    """Before: with 6-mers and 256-nt windows every imputation site sat at offset 2."""
    n = 40 if protocol == "imputation_dense" else 900
    off = _offsets(name, protocol, reqs(protocol, n, 256))
    if name != "nt6":
        off = off % period  # overlapping k-mers: the frame is the phase of the last-starting token
    counts = np.bincount(off, minlength=period)
    assert len(counts) == period
    expected = len(off) / period
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 25.0, counts  # df <= 5: p < 1e-4 for a uniform draw


def test_offsets_ignore_the_hidden_base_and_follow_the_seed() -> None:
    base = reqs("imputation", 200, 256) + reqs("next_nucleotide", 200, 256)
    seeded = [
        ScoreRequest(q.window, q.sites, q.protocol, q.targets, frame_seed=j) for j, q in enumerate(base)
    ]
    for requests in (base, seeded):
        ref = _offsets("nt6", "imputation", requests)
        for shift in (1, 2, 3):
            swapped = []
            for q in requests:
                w = bytearray(q.window, "ascii")
                for s in q.sites:
                    w[s] = ord(BASES[(BASES.index(q.window[s]) + shift) % 4])
                swapped.append(ScoreRequest(w.decode(), q.sites, q.protocol, frame_seed=q.frame_seed))
            assert np.array_equal(_offsets("nt6", "imputation", swapped), ref)
        assert np.array_equal(_offsets("nt6", "imputation", requests), ref)  # deterministic
    other = [ScoreRequest(q.window, q.sites, q.protocol, frame_seed=j + 10_000) for j, q in enumerate(base)]
    assert (_offsets("nt6", "imputation", other) != _offsets("nt6", "imputation", seeded)).mean() > 0.5


def test_task_windows_carry_a_model_independent_frame_seed() -> None:
    rows = [{"genome_id": "g1", "sequence": dna()[:50_000]}, {"genome_id": "g2", "sequence": dna()[50_000:]}]
    kw = dict(n_sites=40, window=256, dataset="PRO", reads=False, protocol="imputation")
    a, b = sample_sites(rows, seed=1, **kw), sample_sites(rows, seed=1, **kw)  # type: ignore[arg-type]
    assert [w.frame_seed for w in a] == [w.frame_seed for w in b]
    assert len({w.frame_seed for w in a}) == len(a)


# --------------------------------------------------------------------------- free positions: exact marginal
def _reference(lm: LoadedModel, al: Aligner, unit: FramedUnit) -> np.ndarray:
    """Brute force for one single-site unit: mask every token touching the site or a free position, and
    sum each covering token's probability over every completion of its free positions."""
    a = al.align(unit.seq)
    spans, i, free = a.spans, unit.hidden[0], set(unit.free)
    touches = [t for t in range(len(a)) if any(spans[t, 0] <= p < spans[t, 1] for p in [i, *free])]
    cover = [t for t in range(len(a)) if spans[t, 0] <= i < spans[t, 1]]
    ids = a.input_ids.copy()
    ids[touches] = lm.tokenizer.mask_token_id
    logp = lm.log_probs_at([ids], [np.array(cover)])[0].numpy()
    vocab = lm.tokenizer.get_vocab()
    scores = np.zeros(4)
    for b, (row, t) in itertools.product(range(4), enumerate(cover)):
        lo, hi = int(spans[t, 0]), int(spans[t, 1])
        open_ = [p for p in range(lo, hi) if p in free]
        total = -np.inf
        for combo in itertools.product(BASES, repeat=len(open_)):
            s = list(unit.seq[lo:hi])
            s[i - lo] = BASES[b]
            for p, c in zip(open_, combo, strict=True):
                s[p - lo] = c
            if "".join(s) in vocab:
                total = np.logaddexp(total, logp[row, vocab["".join(s)]])
        scores[b] += max(total, LOG_FLOOR) / len(cover)
    e = np.exp(scores - scores.max())
    return e / e.sum()


@pytest.mark.parametrize("name", ["nt6", "5s1", "5s2"])
def test_free_positions_are_marginalised_exactly(name: str) -> None:
    lm = loaded(name)
    sc = MaskedLMScorer(lm)
    r = reqs("next_nucleotide", 8, 64, seed=5)
    units = sc._units(r)
    assert any(u.free for u in units)  # type: ignore[union-attr]
    fast = np.concatenate([s.probs for s in sc.score(r, 8)])
    ref = np.stack([_reference(lm, sc.aligner, u) for u in units])  # type: ignore[arg-type]
    assert np.abs(fast - ref).max() < 1e-6


# --------------------------------------------------------------------------- recorded and cached
def test_frames_are_recorded_and_survive_the_chunk_cache(tmp_path: Path) -> None:
    windows = [Window.make("g", 0, j * 300, dna()[j * 300 : j * 300 + 64], (32,)) for j in range(10)]
    sc = MaskedLMScorer(loaded("nt6"))
    first = ChunkedExecutor(rank=0, world_size=1, batch_size=8, cache_dir=tmp_path, chunk_size=4)
    fresh = first.run("k", windows, "imputation", sc)
    again = ChunkedExecutor(rank=0, world_size=1, batch_size=8, cache_dir=tmp_path, chunk_size=4)
    cached = again.run("k", windows, "imputation", sc)
    assert again.stats.cached_chunks == 3 and np.array_equal(frames_of(cached), frames_of(fresh))
    covered, info = frame_summary(cached)
    assert covered.all() and info["n_uncovered"] == 0 and sum(info["frame_offsets"].values()) == 10
