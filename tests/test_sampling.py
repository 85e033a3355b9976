"""Site sampling: deterministic, model-independent, ACGT-only, windows inside rows."""

from __future__ import annotations

import numpy as np
import pytest

from genobench_hf.tasks.sampling import (
    model_alphabet,
    quotas,
    sample_dense_windows,
    sample_sites,
    stable_seed,
)

RNG = np.random.default_rng(7)


def _rows(n_genomes: int = 3, length: int = 3000) -> list[dict]:
    rows = []
    for g in range(n_genomes):
        seq = "".join(RNG.choice(list("ACGT"), size=length))
        seq = seq[:500] + "N" * 100 + seq[600:1000] + "acgtRY" + seq[1006:]
        rows.append({"genome_id": f"g{g}", "sequence": seq})
        rows.append({"genome_id": f"g{g}", "sequence": seq[:700]})  # a short second contig
    return rows


def test_stable_seed_is_stable_and_distinct() -> None:
    assert stable_seed(0, "sites", "PRO", "g1") == stable_seed(0, "sites", "PRO", "g1")
    assert stable_seed(0, "sites", "PRO", "g1") != stable_seed(1, "sites", "PRO", "g1")
    # a fixed value: changing the hash would silently change every benchmark's sites
    assert stable_seed("x") == int.from_bytes(
        __import__("hashlib").blake2b(b"x", digest_size=8).digest(), "little"
    )


def test_model_alphabet() -> None:
    assert model_alphabet("acgTNRY-") == "ACGTNNNN"


def test_quotas_equal_with_remainder_to_first() -> None:
    assert quotas(["b", "a", "c", "a"], 8) == {"a": 3, "b": 3, "c": 2}


@pytest.mark.parametrize("protocol", ["imputation", "next_nucleotide"])
def test_sites_are_acgt_inside_rows_and_deterministic(protocol: str) -> None:
    rows = _rows()
    kw = dict(n_sites=90, window=64, seed=3, dataset="PRO", reads=False, protocol=protocol)
    a = sample_sites(rows, **kw)
    b = sample_sites(rows, **kw)
    assert a == b
    assert len(a) == 90
    assert {w.genome_id for w in a} == {"g0", "g1", "g2"}
    for w in a:
        assert len(w.window) == 64
        site = w.sites[0]
        assert site == (63 if protocol == "next_nucleotide" else 32)
        seq = model_alphabet(rows[w.row]["sequence"])
        assert seq[w.start : w.start + 64] == w.window
        assert w.window[site] in "ACGT" and "ACGT"[w.targets[0]] == w.window[site]
    other = sample_sites(rows, **(kw | {"seed": 4}))
    assert [w.start for w in other] != [w.start for w in a]


def test_imputation_and_next_nucleotide_share_sites() -> None:
    rows = _rows()
    kw = dict(n_sites=30, window=64, seed=0, dataset="PRO", reads=False)
    imp = sample_sites(rows, protocol="imputation", **kw)
    nxt = sample_sites(rows, protocol="next_nucleotide", **kw)
    assert [(w.row, w.start + w.sites[0]) for w in imp] == [(w.row, w.start + w.sites[0]) for w in nxt]


def test_gc_excludes_the_site() -> None:
    from genobench_hf.tasks.sampling import gc_without

    assert gc_without("AAGAA", [2]) == 0.0
    assert gc_without("AAGAC", [2]) == 0.25
    assert gc_without("NNGNC", [2]) == 1.0  # N is not counted
    rows = [{"genome_id": "g", "sequence": "G" * 500}]
    (w,) = sample_sites(rows, n_sites=1, window=81, seed=0, dataset="X", reads=False, protocol="imputation")
    assert w.gc == 1.0 and w.targets == (2,)


def test_reads_sites_and_left_windows() -> None:
    rows = [{"genome_id": f"g{i % 2}", "sequence": "".join(RNG.choice(list("ACGT"), 150))} for i in range(20)]
    imp = sample_sites(
        rows, n_sites=10, window=256, seed=0, dataset="PRO_reads", reads=True, protocol="imputation"
    )
    nxt = sample_sites(
        rows, n_sites=10, window=256, seed=0, dataset="PRO_reads", reads=True, protocol="next_nucleotide"
    )
    assert len(imp) == 10
    for a, b in zip(imp, nxt, strict=True):
        assert len(a.window) == 150 and a.sites[0] >= 1
        assert b.window == a.window[: a.sites[0] + 1] and b.sites[0] == len(b.window) - 1


def test_dense_windows_hide_about_rate() -> None:
    rows = _rows(length=20000)
    wins = sample_dense_windows(
        rows, n_sites=2000, window=256, mask_rate=0.15, seed=1, dataset="PRO", reads=False
    )
    hidden = sum(len(w.sites) for w in wins)
    acgt = sum(sum(c in "ACGT" for c in w.window) for w in wins)
    assert 0.12 < hidden / acgt < 0.18
    for w in wins:
        assert all(w.window[s] in "ACGT" for s in w.sites)
        assert len(set(w.sites)) == len(w.sites)


def test_reads_give_several_sites_when_reads_are_few() -> None:
    rows = [{"genome_id": "g", "sequence": "".join(RNG.choice(list("ACGT"), 150))} for _ in range(5)]
    wins = sample_sites(
        rows, n_sites=12, window=256, seed=0, dataset="X_reads", reads=True, protocol="imputation"
    )
    assert len(wins) == 12
    assert len({(w.row, w.sites[0]) for w in wins}) == 12
