"""Tests of the Markov baseline: the smoothing formula, exact two-sided Bayes, leak-freedom, the E. coli anchor."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pytest

from genobench_hf.errors import ConfigError, InputError
from genobench_hf.scoring.base import Scorer, ScoreRequest
from genobench_hf.scoring.markov import MarkovModel, MarkovScorer
from genobench_hf.scoring.markov_select import select_order

RC = str.maketrans("ACGT", "TGCA")


def _random_seq(rng: np.random.Generator, n: int, n_rate: float = 0.0) -> str:
    """A sequence with some structure (a biased order-2 chain) and optional N runs."""
    out = list(rng.choice(list("ACGT"), 2))
    for _ in range(n - 2):
        prev = "ACGT".index(out[-1]) * 4 + "ACGT".index(out[-2])
        p = np.full(4, 0.1)
        p[prev % 4] = 0.7
        out.append("ACGT"[rng.choice(4, p=p)])
    if n_rate:
        for i in np.flatnonzero(rng.random(n) < n_rate):
            out[i] = "N"
    return "".join(out)


# ---- a naive reference written independently of the vectorised module --------------------------------
def _naive_counts(seqs: list[str], order: int, both_strands: bool = True) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in seqs:
        for strand in (s, s[::-1].translate(RC)) if both_strands else (s,):
            for length in range(1, order + 2):
                for i in range(len(strand) - length + 1):
                    kmer = strand[i : i + length]
                    if set(kmer) <= set("ACGT"):
                        counts[kmer] = counts.get(kmer, 0) + 1
    return counts


def _naive_p(counts: dict[str, int], ctx: str, d: float, thetas: np.ndarray) -> np.ndarray:
    p = np.full(4, 0.25)
    for k in range(len(ctx) + 1):
        h = ctx[len(ctx) - k :]
        c = np.array([counts.get(h + b, 0) for b in "ACGT"], dtype=float)
        p = (np.maximum(c - d, 0) + (d * (c > 0).sum() + thetas[k]) * p) / (c.sum() + thetas[k])
    return p


def _naive_context(window: str, j: int, order: int) -> str:
    ctx = ""
    for i in range(j - 1, max(j - order, 0) - 1, -1):
        if window[i] not in "ACGT":
            break
        ctx = window[i] + ctx
    return ctx


def _naive_two_sided(counts, window: str, site: int, order: int, d, thetas) -> np.ndarray:
    logp = np.zeros(4)
    for b in range(4):
        w = window[:site] + "ACGT"[b] + window[site + 1 :]
        for j, x in enumerate(w):  # the whole window: factors that do not see the site cancel
            if x in "ACGT":
                logp[b] += math.log(_naive_p(counts, _naive_context(w, j, order), d, thetas)["ACGT".index(x)])
    p = np.exp(logp - logp.max())
    return p / p.sum()


@pytest.fixture(scope="module")
def small_model() -> tuple[MarkovModel, list[str]]:
    rng = np.random.default_rng(1)
    train = [_random_seq(rng, 3000, 0.01), _random_seq(rng, 500)]
    return MarkovModel.fit(train, 3, discount=0.3), train


def _requests(rng: np.random.Generator, protocol: str, n: int = 30, width: int = 40) -> list[ScoreRequest]:
    reqs = []
    for _ in range(n):
        w = _random_seq(rng, width, 0.05)
        acgt = [i for i, c in enumerate(w) if c != "N"]
        k = 1 if protocol == "imputation" else max(1, len(acgt) // 6)
        sites = tuple(sorted(rng.choice(acgt, size=k, replace=False).tolist()))
        reqs.append(ScoreRequest(w, sites, protocol, tuple("ACGT".index(w[s]) for s in sites)))
    return reqs


# ---- the formula ------------------------------------------------------------------------------------
def test_hand_computed_order_one_left_and_two_sided() -> None:
    # "AAC" + reverse complement "GTT": 1-mers A2 C1 G1 T2; 2-mers AA AC GT TT
    m = MarkovModel.fit(["AAC"], 1, discount=0.0, strength=1.0)
    p0 = np.array([2.25, 1.25, 1.25, 2.25]) / 7  # (c + 1 * 0.25) / (6 + 1)
    p_a = (np.array([1, 1, 0, 0]) + p0) / 3  # context A: AA, AC
    p_g = (np.array([0, 0, 0, 1]) + p0) / 2  # context G: GT
    p_t = p_g  # context T: TT
    np.testing.assert_allclose(2 ** m.log2_prob_left("AC", 1), p_a, rtol=1e-12)
    np.testing.assert_allclose(2 ** m.log2_prob_left("NC", 1), p0, rtol=1e-12)  # backs off at N
    np.testing.assert_allclose(2 ** m.log2_prob_left("C", 0), p0, rtol=1e-12)  # and at the window start
    # two-sided for "A?T": p(b | A) * p(T | b); context C is unseen, so p(T | C) = p0(T)
    joint = p_a * np.array([p_a[3], p0[3], p_g[3], p_t[3]])
    np.testing.assert_allclose(m.probs_two_sided("AGT", 1), joint / joint.sum(), rtol=1e-12)
    assert (
        abs(m.probs_two_sided("AGT", 1)[1] - m.probs_two_sided("AGT", 1)[3]) > 0.01
    )  # not symmetric by accident


def test_absolute_discounting_limit_hand_computed() -> None:
    m = MarkovModel.fit(["AAC"], 1, discount=0.5, strength=1e-12)
    np.testing.assert_allclose(2 ** m.log2_prob_left("GA", 1), [1 / 6, 1 / 12, 1 / 12, 2 / 3], rtol=1e-9)
    np.testing.assert_allclose(m.probs_two_sided("AGT", 1), [0.2, 0.32, 0.16, 0.32], rtol=1e-9)


def test_uniform_when_fitted_on_nothing_and_balanced_order_zero() -> None:
    empty = MarkovModel.fit([], 4)
    assert empty.n_train_kmers == 0
    np.testing.assert_array_equal(empty.probs_two_sided("ACGTACGTAC", 5), np.full(4, 0.25))
    scores = MarkovScorer(MarkovModel.fit(["ACGT" * 500], 0)).score(
        [ScoreRequest("ACGTACGTAC", (1, 4, 7), "imputation", (1, 0, 3))], 8
    )
    bits = -np.log2(scores[0].probs[np.arange(3), [1, 0, 3]]).mean()
    assert f"{bits:.3f}" == "2.000"


@pytest.mark.parametrize("order", [1, 2, 3, 11])  # 11 exercises the sparse (sorted k-mer) tables
def test_matches_naive_reference(order: int) -> None:
    rng = np.random.default_rng(order)
    train = [_random_seq(rng, 400, 0.02)]
    m = MarkovModel.fit(train, order, discount=0.4)
    assert m.strengths.min() > 0
    counts = _naive_counts(train, order)
    for i in range(16):
        w = _random_seq(rng, 14, 0.1)
        if i % 2:  # a stretch of the training data, so that long contexts are seen
            start = int(rng.integers(0, 380))
            w = train[0][start : start + 14].replace("N", "A")
            w = w[:3] + "N" + w[4:] if i % 4 == 1 else w
        site = int(rng.choice([i for i, c in enumerate(w) if c != "N"]))
        left = _naive_p(counts, _naive_context(w, site, order), 0.4, m.strengths)
        np.testing.assert_allclose(2 ** m.log2_prob_left(w, site), left, rtol=1e-10)
        brute = _naive_two_sided(counts, w, site, order, 0.4, m.strengths)
        np.testing.assert_allclose(m.probs_two_sided(w, site), brute, rtol=1e-9, atol=1e-12)


def test_both_strands_are_counted() -> None:
    fwd = MarkovModel.fit(["AAAAAC"], 2, strength=1.0)
    rc = MarkovModel.fit(["GTTTTT"], 2, strength=1.0)
    one = MarkovModel.fit(["AAAAAC"], 2, both_strands=False, strength=1.0)
    np.testing.assert_allclose(fwd.probs_two_sided("AAGTT", 2), rc.probs_two_sided("AAGTT", 2))
    assert not np.allclose(fwd.log2_prob_left("TTT", 2), one.log2_prob_left("TTT", 2))


# ---- the scorer -------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["imputation", "next_nucleotide", "imputation_dense"])
def test_scorer_rows_sum_to_one_and_leak_free(small_model, protocol: str) -> None:
    model, _ = small_model
    scorer = MarkovScorer(model)
    assert isinstance(scorer, Scorer) and scorer.name == "markov:3" and scorer.skip_reason(protocol) is None
    rng = np.random.default_rng(7)
    reqs = _requests(rng, protocol)
    out = scorer.score(reqs, batch_size=4)
    assert [len(o.probs) for o in out] == [len(r.sites) for r in reqs]
    for o in out:
        np.testing.assert_allclose(o.probs.sum(axis=1), 1.0, rtol=1e-12)
        assert o.path == "markov" and not o.approximate and np.all(o.mass_outside == 0)
    changed, touched = [], []  # dense: change every hidden base; else one site (earlier sites are context)
    for r in reqs:
        w = list(r.window)
        picked = r.sites if protocol == "imputation_dense" else (r.sites[rng.integers(len(r.sites))],)
        for s in picked:
            w[s] = "ACGT"[("ACGT".index(w[s]) + 1 + rng.integers(3)) % 4]
        changed.append(ScoreRequest("".join(w), r.sites, protocol))
        touched.append([r.sites.index(s) for s in picked])
    for a, b, rows in zip(out, scorer.score(changed, batch_size=4), touched, strict=True):
        np.testing.assert_array_equal(a.probs[rows], b.probs[rows])
    # the scores are informative: not uniform (a leak test on a constant scorer would pass vacuously)
    assert np.abs(np.concatenate([o.probs for o in out]) - 0.25).max() > 0.1


def test_next_nucleotide_does_not_look_right(small_model) -> None:
    model, _ = small_model
    scorer = MarkovScorer(model)
    base = "ACGGTACCGTAGGCTAGCTTAGC"
    site = 11
    reqs = [
        ScoreRequest(base[:site] + tail, (site,), "next_nucleotide")
        for tail in ("G" * 12, "TTNACGTACGT", "C")
    ]
    probs = [o.probs for o in scorer.score(reqs, 1)]
    np.testing.assert_array_equal(probs[0], probs[1])
    np.testing.assert_array_equal(probs[0], probs[2])
    two = scorer.score([ScoreRequest(r.window, r.sites, "imputation") for r in reqs[:2]], 1)
    assert not np.allclose(two[0].probs, two[1].probs)  # two-sided does use the right context


def test_dense_hides_every_site_and_sparse_does_not(small_model) -> None:
    model, _ = small_model
    w, sites = "ACGGTACCGTAGGCTAGCTTAGCA", (5, 7, 9, 16)
    dense = MarkovScorer(model).score([ScoreRequest(w, sites, "imputation_dense")], 1)[0].probs
    sparse = MarkovScorer(model).score([ScoreRequest(w, sites, "imputation")], 1)[0].probs
    for row, s in enumerate(sites):
        masked = "".join("N" if i in sites and i != s else c for i, c in enumerate(w))
        np.testing.assert_allclose(dense[row], model.probs_two_sided(masked, s), rtol=1e-12)
        np.testing.assert_allclose(sparse[row], model.probs_two_sided(w, s), rtol=1e-12)
    assert not np.allclose(dense, sparse)


# ---- persistence, configuration, order selection ------------------------------------------------------
def test_save_load_roundtrip(tmp_path: Path, small_model) -> None:
    model, _ = small_model
    path = model.save(tmp_path / "m3.npz")
    assert path.with_suffix(".json").exists()
    again = MarkovModel.load(path)
    assert again.fingerprint == model.fingerprint and again.order == 3
    assert again.metadata()["n_train_kmers"] == model.n_train_kmers > 0
    np.testing.assert_array_equal(
        again.probs_two_sided("ACGTNACGTAC", 6), model.probs_two_sided("ACGTNACGTAC", 6)
    )
    other = MarkovModel.fit(["ACGT" * 50], 3)
    assert other.fingerprint != model.fingerprint
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError):
        MarkovModel.load(tmp_path / "bad.npz")


def test_bad_configuration_raises() -> None:
    for kwargs in (
        {"order": 16},
        {"order": -1},
        {"order": 2, "discount": 1.5},
        {"order": 2, "strength": 0.0},
    ):
        with pytest.raises(ConfigError):
            MarkovModel.fit(["ACGT"], **kwargs)
    with pytest.raises(ConfigError):
        select_order(["ACGT"], ["ACGT"], orders=[])
    with pytest.raises(InputError):
        select_order(["ACGT"], ["NNNN"], orders=[1])


def test_select_order_finds_the_generating_order() -> None:
    rng = np.random.default_rng(3)
    train = [_random_seq(rng, 20000)]
    valid = [_random_seq(rng, 5000)]
    calls = []
    best, bits = select_order(lambda: calls.append(1) or iter(train), valid, orders=range(0, 5), n_sites=3000)
    assert calls == [1] and sorted(bits) == [0, 1, 2, 3, 4]
    assert best >= 2 and bits[1] > bits[2] + 0.2 and bits[best] == min(bits.values())
    assert bits[4] < bits[2] + 0.01  # the smoothing keeps superfluous orders harmless


def test_long_sequences_are_chunked_consistently(monkeypatch) -> None:
    import genobench_hf.scoring.markov_counts as mk

    rng = np.random.default_rng(5)
    seq = _random_seq(rng, 3000, 0.01)
    ref = MarkovModel.fit([seq], 11, strength=2.0)
    monkeypatch.setattr(mk, "_CHUNK", 257)
    chunked = MarkovModel.fit([seq], 11, strength=2.0)
    assert chunked.fingerprint == ref.fingerprint and ref.n_train_kmers == sum(
        2 * (len(run) - 11) for run in seq.split("N") if len(run) >= 12
    )


# ---- the sanity anchor (DESIGN.md): E. coli K-12, fit on the first half, score the second -----------------
def _read_genome(path: Path) -> str:
    try:
        from genobench_hf.data.fasta import read_fasta

        return "".join(r.sequence for r in read_fasta(path)).upper()
    except ImportError:  # pragma: no cover - the reader is written by another module
        with gzip.open(path, "rt") as fh:
            return "".join(line.strip() for line in fh if not line.startswith(">")).upper()


@pytest.fixture(scope="module")
def ecoli(corpus_genomes: Path) -> tuple[MarkovModel, list[ScoreRequest], np.ndarray]:
    seq = _read_genome(corpus_genomes / "PRO" / "Escherichia_coli_K-12_MG1655.fna.gz")
    half = len(seq) // 2
    model = MarkovModel.fit([seq[:half]], 12)
    test = seq[half:]
    rng = np.random.default_rng(0)
    centres = np.sort(rng.choice(np.arange(128, len(test) - 128), 20000, replace=False))
    reqs = [ScoreRequest(test[c - 128 : c + 128], (128,), "imputation") for c in centres]
    truth = np.array(["ACGT".index(test[c]) for c in centres])
    return model, reqs, truth


def _bits_acc(
    model: MarkovModel, reqs: list[ScoreRequest], truth: np.ndarray, protocol: str
) -> tuple[float, float]:
    if protocol == "next_nucleotide":
        reqs = [ScoreRequest(r.window[:129], r.sites, protocol) for r in reqs]
    p = np.concatenate([o.probs for o in MarkovScorer(model).score(reqs, 256)])
    return float(-np.log2(p[np.arange(len(truth)), truth]).mean()), float((p.argmax(1) == truth).mean())


def test_ecoli_half_half_anchor(ecoli) -> None:
    model, reqs, truth = ecoli
    for k in range(3, 9):
        bits, acc = _bits_acc(model.truncated(k), reqs, truth, "next_nucleotide")
        assert 1.90 <= bits <= 1.97 and 0.31 <= acc <= 0.37, (k, bits, acc)
    bits, acc = _bits_acc(model.truncated(6), reqs, truth, "imputation")
    assert 1.80 <= bits <= 1.86 and 0.38 <= acc <= 0.44, (bits, acc)


@pytest.mark.slow
def test_ecoli_high_orders_do_not_collapse(ecoli) -> None:
    model, reqs, truth = ecoli
    for k in (10, 11, 12):
        left, _ = _bits_acc(model.truncated(k), reqs, truth, "next_nucleotide")
        two, acc = _bits_acc(model.truncated(k), reqs, truth, "imputation")
        assert left < 1.95 and two < 1.90 and acc > 0.38, (k, left, two, acc)


# ---- one-pass counting, truncation instead of refitting, the content-addressed cache ---------------------
@pytest.mark.parametrize("both_strands", [True, False])
def test_one_pass_counts_equal_naive_counts_at_every_order(monkeypatch, both_strands: bool) -> None:
    import genobench_hf.scoring.markov_counts as mk

    rng = np.random.default_rng(8)
    seqs = [_random_seq(rng, 2500, 0.02), "ACGTTGCA", "", "NNNN", "ACGTACGTACGTA", _random_seq(rng, 300, 0.3)]
    order = 12  # dense levels 0..9 and sparse 10..12, edge k-mers at every run end and near every N
    for chunk in (1 << 22, 97):  # and a sequence split into many short chunks
        monkeypatch.setattr(mk, "_CHUNK", chunk)
        model = MarkovModel.fit(seqs, order, both_strands=both_strands, strength=1.0)
        naive = _naive_counts(seqs, order, both_strands)
        for k in range(order + 1):
            codes, counts = model._types(k)
            got = {
                "".join("ACGT"[(int(c) >> (2 * j)) & 3] for j in range(k, -1, -1)): int(n)
                for c, n in zip(codes, counts, strict=True)
            }
            want = {kmer: n for kmer, n in naive.items() if len(kmer) == k + 1}
            assert got == want, (chunk, k)


def test_reduced_chain_equals_a_fit_at_that_order() -> None:
    """Truncating an order-12 fit (strengths re-estimated) gives exactly the chain a fit at K returns."""
    from genobench_hf.testing import real_dna

    train = [real_dna(40_000), real_dna(5_000, offset=60_000)]  # > 50,000 types: the LOO sample path
    top = MarkovModel.fit(train, 12)
    for k in (0, 3, 9, 10, 11):
        assert top.reduced(k).fingerprint == MarkovModel.fit(train, k).fingerprint, k
    assert top.reduced(5, strength=3.0).fingerprint == MarkovModel.fit(train, 5, strength=3.0).fingerprint


def test_markov_cache_second_evaluation_reuses_chain_and_selection(tmp_path: Path, monkeypatch) -> None:
    from genobench_hf.scoring import markov_select
    from genobench_hf.scoring.markov_select import MarkovCache
    from genobench_hf.testing import real_dna

    train, valid = [real_dna(30_000)], [real_dna(6_000, offset=40_000)]
    orders = range(1, 9)
    want_best, want_bits = select_order(train, valid, orders, n_sites=2000)
    want = MarkovModel.fit(train, want_best)  # what the provider used to refit

    first = MarkovCache(tmp_path)
    model, best, bits = first.auto(train, valid, orders, n_sites=2000)
    assert (best, bits) == (want_best, want_bits) and model.fingerprint == want.fingerprint

    def boom(*args, **kwargs):
        raise AssertionError("a cache hit must neither fit nor score validation sites")

    with monkeypatch.context() as m:
        m.setattr(MarkovModel, "fit", boom)
        m.setattr(markov_select, "selection_bits", boom)
        again = MarkovCache(tmp_path)
        model2, best2, bits2 = again.auto(train, valid, orders, n_sites=2000)
        assert again.misses == 0 and again.hits == 2
        assert (best2, bits2) == (best, bits) and model2.fingerprint == model.fingerprint
        reqs = [ScoreRequest(valid[0][i : i + 41], (20,), "imputation") for i in range(0, 5000, 250)]
        p1 = np.concatenate([s.probs for s in MarkovScorer(model).score(reqs)])
        p2 = np.concatenate([s.probs for s in MarkovScorer(model2).score(reqs)])
        assert np.array_equal(p1, p2)

    # invalidation: one base of the training data, the validation data, the discount, a damaged file
    assert len(list(tmp_path.glob("selection-*.json"))) == 1
    other = [train[0][:-1] + ("A" if train[0][-1] != "A" else "C")]
    changed = MarkovCache(tmp_path)
    changed.auto(other, valid, orders, n_sites=2000)
    assert changed.hits == 0 and changed.misses == 3  # selection, the order-8 chain, the chosen chain
    changed.auto(train, [valid[0][1:]], orders, n_sites=2000)
    assert len(list(tmp_path.glob("selection-*.json"))) == 3
    discounted = MarkovCache(tmp_path)
    assert discounted.fit(train, best, discount=0.5).discount == 0.5 and discounted.misses == 1
    for p in tmp_path.glob("chain-*.npz"):
        p.write_bytes(b"not a zip")
    damaged = MarkovCache(tmp_path)
    assert damaged.fit(train, best).fingerprint == want.fingerprint and damaged.misses == 1
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files behind


def test_second_evaluation_reuses_the_cached_auto_chain(built_corpus, tmp_path: Path, monkeypatch) -> None:
    """``genobench evaluate --model markov:auto`` twice with one cache: the second neither fits nor selects
    and gives the same numbers and the same chosen order."""
    import json

    from genobench_hf.cli import main
    from genobench_hf.scoring import markov_select

    data, _ = built_corpus
    argv = ["evaluate", "--model", "markov:auto", "--data-dir", str(data), "--datasets", "VIR",
            "--tasks", "imputation", "--limit", "16", "--baseline", "none", "--n-bootstrap", "10", "--quiet",
            "--no-resume", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main([*argv, "--output", str(tmp_path / "a.json")]) == 0

    def boom(*args, **kwargs):
        raise AssertionError("the second evaluation refitted or reselected")

    monkeypatch.setattr(MarkovModel, "fit", boom)
    monkeypatch.setattr(markov_select, "selection_bits", boom)
    assert main([*argv, "--output", str(tmp_path / "b.json")]) == 0
    a, b = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert a["config"]["markov_chains"] == b["config"]["markov_chains"]
    assert (
        a["results"]["imputation"]["VIR"]["bits_per_nt"] == b["results"]["imputation"]["VIR"]["bits_per_nt"]
    )
