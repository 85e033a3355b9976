"""Conservation column (strain alignment bookkeeping, row encoding) and the conservation task."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from genobench_hf.data.conservation import (
    CODON_3,
    CODON_12,
    CONSERVATION_FIELDS,
    NON_CODING,
    ContigConservation,
    cds_codon_classes,
    conservation,
    conservation_track,
    decode_row,
    encode_for_row,
    genome_conservation,
    orf_codon_classes,
    read_genome,
    strains_for,
)
from genobench_hf.data.fasta import reverse_complement
from genobench_hf.data.taxonomy import embedded_corpus_dir, load_corpus, load_strains
from genobench_hf.errors import ConfigError, InputError
from genobench_hf.metrics.conservation import conservation_correlation
from genobench_hf.scoring.base import ScoreRequest, SiteScores
from genobench_hf.tasks.base import TaskConfig
from genobench_hf.tasks.conservation import Conservation, sample_conserved_sites
from genobench_hf.testing_context import MemoryContext

_SWAP = {"A": "C", "C": "G", "G": "T", "T": "A"}


# -- crafted alignment ---------------------------------------------------------------------------------
def _crafted() -> tuple[str, str, list[int], range]:
    """A random 6 kb reference; a strain with 3 SNPs and an unambiguous 10 nt deletion."""
    rng = np.random.default_rng(7)
    ref = "".join(rng.choice(list("ACGT"), 6000))
    d0 = next(d for d in range(3300, 3400) if ref[d - 1] != ref[d + 9] and ref[d] != ref[d + 10])
    snps = [1500, 2500, 4200]
    s = list(ref)
    for p in snps:
        s[p] = _SWAP[s[p]]
    return ref, "".join(s[:d0] + s[d0 + 10 :]), snps, range(d0, d0 + 10)


def test_crafted_strain_and_its_reverse_complement_give_exact_arrays() -> None:
    ref, strain, snps, deleted = _crafted()
    expected_aligned = np.full(len(ref), 2, dtype=np.uint8)
    expected_aligned[list(deleted)] = 0
    expected_agree = expected_aligned.copy()
    expected_agree[snps] = 0
    track = conservation_track({"chr": ref}, {"fwd": {"r": strain}, "rev": {"r": reverse_complement(strain)}})
    assert track.strains == ("fwd", "rev")
    np.testing.assert_array_equal(track.n_aligned["chr"], expected_aligned)
    np.testing.assert_array_equal(track.n_agree["chr"], expected_agree)
    assert [(r.aligned_bases, r.agreeing_bases) for r in track.reports] == [(5990, 5987)] * 2
    swapped = conservation_track(
        {"chr": ref}, {"rev": {"r": reverse_complement(strain)}, "fwd": {"r": strain}}
    )
    assert np.array_equal(swapped.n_agree["chr"], track.n_agree["chr"])  # strain order does not matter
    # one strain alone: the same bookkeeping per strand
    for name, seq in (("fwd", strain), ("rev", reverse_complement(strain))):
        one = conservation_track({"chr": ref}, {name: {"r": seq}})
        np.testing.assert_array_equal(one.n_aligned["chr"], expected_aligned // 2)
        np.testing.assert_array_equal(one.n_agree["chr"], expected_agree // 2)


def test_missing_is_nan_not_zero_and_disagreement_is_zero() -> None:
    ref, strain, snps, deleted = _crafted()
    track = conservation_track({"chr": ref}, {"s": {"r": strain}})
    cons = conservation(track.n_aligned["chr"], track.n_agree["chr"])
    assert np.isnan(cons[list(deleted)]).all()
    assert (cons[snps] == 0.0).all()
    assert np.nansum(cons == 1.0) == len(ref) - len(deleted) - len(snps)
    summary = track.summary()
    assert summary["coverage"] == pytest.approx(1 - 10 / 6000)
    assert summary["share_conserved"] == pytest.approx((5990 - 3) / 5990)


def test_a_duplicated_region_counts_once_per_strain_and_contigs_stay_separate() -> None:
    ref, strain, _, _ = _crafted()
    rng = np.random.default_rng(3)
    other = "".join(rng.choice(list("ACGT"), 3000))
    copy = list(ref[1000:2500])
    for p in range(50, 1500, 100):
        copy[p] = _SWAP[copy[p]]
    strain2 = {"chrom": strain + "".join(copy), "plasmid": reverse_complement(other)}
    track = conservation_track({"chr": ref, "p": other}, {"s": strain2})
    assert track.n_aligned["chr"].max() == 1 and track.n_agree["chr"][1000:2500].sum() == 1500 - 1
    assert track.n_aligned["p"].min() == 1 and np.array_equal(track.n_agree["p"], track.n_aligned["p"])


def test_track_errors() -> None:
    with pytest.raises(ConfigError, match="preset"):
        conservation_track({"c": "ACGT" * 100}, {"s": {"r": "ACGT" * 100}}, preset="map-ont")
    with pytest.raises(ConfigError, match="no contigs"):
        conservation_track({}, {"s": {"r": "ACGT"}})
    with pytest.raises(ConfigError, match="shape"):
        conservation(np.zeros(3, np.uint8), np.zeros(4, np.uint8))


# -- row encoding -----------------------------------------------------------------------------------
def test_encode_decode_round_trip_across_chunks_through_arrow() -> None:
    rng = np.random.default_rng(0)
    n, chunk = 2_500_003, 1_000_000
    aligned = rng.integers(0, 5, size=n).astype(np.uint8)
    agree = (aligned * rng.random(n)).astype(np.uint8)
    arrays = ContigConservation(aligned, agree, ("s1", "s2", "s3", "s4"))
    rows = []
    for lo in range(0, n, chunk):
        length = min(chunk, n - lo)
        rows.append({"sequence": "A" * length, "chunk_start": lo} | encode_for_row(arrays, lo, length))
    schema = pa.schema([("sequence", pa.large_string()), ("chunk_start", pa.int64()), *CONSERVATION_FIELDS])
    back = pa.Table.from_pylist(rows, schema=schema).to_pylist()
    decoded = [decode_row(r) for r in back]
    np.testing.assert_array_equal(np.concatenate([d[0] for d in decoded]), aligned)
    np.testing.assert_array_equal(np.concatenate([d[1] for d in decoded]), agree)
    assert [len(d[0]) for d in decoded] == [chunk, chunk, n - 2 * chunk]
    assert all(r["conservation_strains"] == ["s1", "s2", "s3", "s4"] for r in back)


def test_rows_without_track_and_corrupt_rows() -> None:
    empty = encode_for_row(None, 0, 10)
    assert empty == {"conservation_strains": [], "conservation_aligned": None, "conservation_agree": None}
    assert decode_row({"sequence": "ACGT"} | empty) is None
    arrays = ContigConservation(np.ones(10, np.uint8), np.ones(10, np.uint8), ("s",))
    with pytest.raises(ConfigError, match="outside"):
        encode_for_row(arrays, 5, 10)
    row = {"sequence": "ACG"} | encode_for_row(arrays, 0, 4)
    with pytest.raises(InputError, match="4/4 bytes for a sequence of 3"):
        decode_row(row)
    bad = {"sequence": "AC", "conservation_aligned": b"\x01\x01", "conservation_agree": b"\x01\x02"}
    with pytest.raises(InputError, match="exceeds"):
        decode_row(bad)
    as_list = {"sequence": "AC", "conservation_aligned": [2, 1], "conservation_agree": [1, 1]}
    np.testing.assert_array_equal(decode_row(as_list)[0], [2, 1])  # type: ignore[index]


# -- codon classes ----------------------------------------------------------------------------------
def test_cds_codon_classes_use_contig_coordinates_phase_and_strand() -> None:
    cds = [
        {"start": 1002, "end": 1011, "strand": "+", "phase": 0},
        {"start": 1013, "end": 1020, "strand": "-", "phase": 1},
    ]
    got = cds_codon_classes(cds, chunk_start=1000, length=22)
    plus = [CODON_12, CODON_12, CODON_3] * 3
    # transcribed from 1019 down; phase 1: 1019 ends the previous codon (3rd), codons start at 1018
    minus = [CODON_3, CODON_12, CODON_12, CODON_3, CODON_12, CODON_12, CODON_3]
    expected = [NON_CODING] * 2 + plus + [NON_CODING] * 2 + minus + [NON_CODING] * 2
    assert got.tolist() == expected


def test_orf_classes_find_a_planted_gene_on_either_strand() -> None:
    rng = np.random.default_rng(5)
    codons = [
        c for c in ("".join(x) for x in rng.choice(list("ACGT"), (400, 3))) if c not in ("TAA", "TAG", "TGA")
    ]
    gene = "".join(codons[:150])
    flank = "CTAG" * 45  # palindromic period 4: a TAG within 4 codons in all six frames
    for seq, offset in (
        (flank + gene + flank, len(flank)),
        (flank + reverse_complement(gene) + flank, len(flank)),
    ):
        cls = orf_codon_classes(seq, min_codons=100)
        assert (cls[: offset - 12] == NON_CODING).all()  # an ORF may run <= 3 codons into the flank
        assert (cls[offset : offset + len(gene)] != NON_CODING).all()
        assert (cls[offset : offset + len(gene)] == CODON_3).sum() >= 140
        assert (cls[offset + len(gene) + 12 :] == NON_CODING).all()


# -- real strains ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("species", "reference", "strains", "coverage", "conserved"),
    [
        ("H. pylori", "Helicobacter_pylori_G27", ("ELS37", "SJM180"), (0.90, 1.0), (0.85, 0.97)),
        # N315 starts with SCCmec (~55 kb), absent from the bovine RF122: lower coverage here
        ("S. aureus", "Staphylococcus_aureus_N315", ("COL", "RF122"), (0.70, 0.95), (0.95, 0.999)),
    ],
)
def test_real_200kb_region_has_plausible_coverage_and_conservation(
    species: str, reference: str, strains: tuple[str, ...], coverage: tuple, conserved: tuple
) -> None:
    corpus = embedded_corpus_dir()
    (contig, seq), *_ = read_genome(corpus / "PRO" / f"{reference}.fna.gz").items()
    genus = reference.rsplit("_", 1)[0]
    strain_seqs = {s: read_genome(corpus / "strains" / f"{genus}_{s}.fna.gz") for s in strains}
    summary = conservation_track({contig: seq[:200_000]}, strain_seqs).summary()
    assert coverage[0] <= summary["coverage"] <= coverage[1], summary
    assert conserved[0] <= summary["share_conserved"] <= conserved[1], summary
    identity = [s["identity"] for s in summary["per_strain"]]
    assert all(0.93 <= x <= 0.999 for x in identity), identity


@pytest.mark.slow
def test_whole_h_pylori_genome_against_its_four_strains() -> None:
    corpus = embedded_corpus_dir()
    entry = next(e for e in load_corpus(corpus) if e.genome_id == "Helicobacter_pylori_G27")
    strains = load_strains(corpus)
    assert [s.genome_id for s in strains_for(entry, strains)] == [
        f"Helicobacter_pylori_{s}" for s in ("ELS37", "Gambia94_24", "Puno120", "SJM180")
    ]
    track = genome_conservation(entry, strains)
    assert track is not None
    summary = track.summary()
    assert 0.93 <= summary["coverage"] <= 0.99 and 0.85 <= summary["share_conserved"] <= 0.95, summary
    other = next(e for e in load_corpus(corpus) if e.genome_id.startswith("Bartonella"))
    assert genome_conservation(other, strains) is None


# -- the task on a context double ------------------------------------------------------------------------
class OracleScorer:
    """Test double: p(true base) grows with the site's conservation, read from a lookup (not leak-free)."""

    name = "oracle"

    def __init__(self, cons_by_window: dict[str, float] | None) -> None:
        self.cons = cons_by_window

    def skip_reason(self, protocol: str) -> str | None:
        return None

    def score(self, requests: Sequence[ScoreRequest], batch_size: int) -> list[SiteScores]:
        out = []
        for req in requests:
            p = np.full((1, 4), 0.25)
            if self.cons is not None:
                true = "ACGT".index(req.window[req.sites[0]])
                p_true = 0.25 + 0.7 * self.cons[req.window]
                p[:] = (1 - p_true) / 3
                p[0, true] = p_true
            out.append(SiteScores(p, np.full(1, np.nan), "test"))
        return out


class UniformMarkov(OracleScorer):
    name = "markov:0"
    trained_on_genobench_train = True  # stands for a chain fitted on the train split

    def __init__(self) -> None:
        super().__init__(None)


def FakeContext(rows_by_split: dict[str, list[dict[str, Any]]], baselines: dict[str, Any]) -> MemoryContext:
    config = SimpleNamespace(task=TaskConfig(window=32, n_sites=600, n_bootstrap=0, seed=1))
    return MemoryContext(rows_by_split, config, baselines_by=baselines)


def _synthetic_rows() -> dict[str, list[dict[str, Any]]]:
    """Three genomes (train, validation, test); 3rd codon positions of the planted CDS are the least
    conserved."""
    rng = np.random.default_rng(11)
    out: dict[str, list[dict[str, Any]]] = {"train": [], "validation": [], "test": []}
    for split, genome, chunks in (("train", "g_train", 1), ("validation", "g_val", 2), ("test", "g_test", 1)):
        for k in range(chunks):
            n, start = 3000, 3000 * k
            seq = "".join(rng.choice(list("ACGTN"), n, p=[0.24, 0.24, 0.24, 0.24, 0.04]))
            aligned = rng.integers(0, 5, size=n).astype(np.uint8)
            cds = [{"start": start + 100, "end": start + 2900, "strand": "+", "phase": 0}]
            third = cds_codon_classes(cds, start, n) == CODON_3
            agree = np.where(third, aligned // 2, aligned).astype(np.uint8)
            arrays = ContigConservation(aligned, agree, ("s1", "s2", "s3", "s4"))
            row = {"genome_id": genome, "contig_id": "c", "chunk_start": 0, "sequence": seq,
                   "species": f"sp_{genome}", "genetic_code": 11}  # fmt: skip
            row |= {"chunk_start": start, "cds": cds} | encode_for_row(arrays, 0, n)
            out[split].append(row)
    one = ContigConservation(np.ones(3000, np.uint8), np.ones(3000, np.uint8), ("s1",))  # never 2 strains
    out["rare"] = [{"genome_id": "g_single", "contig_id": "c", "chunk_start": 0, "sequence": "ACGT" * 750,
                    "species": "y", "genetic_code": 11, "cds": []} | encode_for_row(one, 0, 3000)]  # fmt: skip
    out["validation"] += [{"genome_id": "g_none", "contig_id": "c", "chunk_start": 0, "sequence": "ACGT" * 50,
                          "species": "x", "genetic_code": 11, "cds": []} | encode_for_row(None, 0, 200)]  # fmt: skip
    return out


def test_sites_are_seeded_equal_per_genome_acgt_and_aligned_by_two() -> None:
    rows = [r for rs in _synthetic_rows().values() for r in rs if r["conservation_aligned"] is not None]
    windows, cons = sample_conserved_sites(rows, n_sites=600, window=32, seed=1, dataset="PRO")
    again, _ = sample_conserved_sites(rows, n_sites=600, window=32, seed=1, dataset="PRO")
    other, _ = sample_conserved_sites(rows, n_sites=600, window=32, seed=2, dataset="PRO")
    assert windows == again and windows != other
    assert [sum(w.genome_id == g for w in windows) for g in ("g_train", "g_val", "g_test")] == [200] * 3
    for w, c in zip(windows, cons, strict=True):
        aligned, agree = decode_row(rows[w.row])  # type: ignore[misc]
        pos = w.start + w.sites[0]
        assert (
            len(w.window) == 32 and w.window[w.sites[0]] in "ACGT" and rows[w.row]["sequence"][pos] in "ACGT"
        )
        assert aligned[pos] >= 2 and c == agree[pos] / aligned[pos]


def test_task_oracle_scorer_correlates_and_constant_scorer_gives_none() -> None:
    rows = _synthetic_rows()
    sampled = [
        r for s, rs in rows.items() if s != "train" for r in rs if r["conservation_aligned"] is not None
    ]
    windows, cons = sample_conserved_sites(sampled, n_sites=600, window=32, seed=1, dataset="PRO")
    oracle = OracleScorer({w.window: c for w, c in zip(windows, cons, strict=True)})
    ctx = FakeContext(rows, {"markov": UniformMarkov()})
    out = Conservation().run(oracle, "PRO", ctx)
    # monotone in conservation up to float round-off of the renormalised rows (which breaks ties)
    assert out["spearman"] > 0.99 and out["n_sites"] == 600
    assert set(out["by_genome"]) == {"g_val", "g_test"} and "phyloP" in out["note"]
    assert out["genomes_scored"] == {"g_test": "test", "g_val": "validation"}  # never the train genome
    assert set(out["excluded_genomes"]) == {"g_single"} and "train" in out["splits_not_scored"]
    assert out["by_genome"]["g_val"]["in_training"] == "unknown"
    assert out["by_genome"]["g_test"]["strains"] == ["s1", "s2", "s3", "s4"]
    assert set(out["by_species"]) == {"sp_g_val", "sp_g_test"}
    assert (
        out["by_genome"]["g_val"]["positions"] == 6000 and 0.7 < out["by_genome"]["g_val"]["coverage"] < 0.9
    )
    bins = out["accuracy_by_conservation"]
    assert [b["label"] for b in bins] == ["[0, 0.5)", "[0.5, 0.75)", "[0.75, 1)", "[1, 1]"]
    assert sum(b["n"] for b in bins) == 600 and bins[-1]["bits_per_nt"] < bins[0]["bits_per_nt"]
    markov = out["baselines"]["markov"]
    assert markov["spearman"] is None and markov["bits_per_nt"] == pytest.approx(2.0)
    assert markov["by_genome"]["g_val"]["in_training"] is False
    assert markov["by_genome"]["g_test"]["in_training"] is False
    codon = out["baselines"]["codon_position"]
    assert codon["spearman"] > 0.3 and codon["source"] == {"g_val": "cds", "g_test": "cds"}
    assert out["baselines"]["chance"]["spearman"] is None
    assert ctx.calls == ["conservation", "conservation@markov"]
    flat = Conservation().run(UniformMarkov(), "PRO", FakeContext(rows, {}))
    assert flat["spearman"] is None and flat["by_genome"]["g_test"]["spearman"] is None
    assert set(flat["genomes_scored"]) == {"g_val", "g_test"}  # the Markov chain's own train genome: never


def test_task_skips_without_conservation_data_and_on_reads() -> None:
    task, scorer = Conservation(), UniformMarkov()
    rows = _synthetic_rows()
    assert "skipped" in task.run(scorer, "PRO_reads", FakeContext(rows, {}))
    no_track = {"validation": [r for r in rows["validation"] if r["genome_id"] == "g_none"]}
    assert (
        "no genome of PRO outside train has conservation data"
        in task.run(scorer, "PRO", FakeContext(no_track, {}))["skipped"]
    )
    only_train = {"train": rows["train"]}  # a track in train only: not scored (the model may have seen it)
    assert "outside train" in task.run(scorer, "PRO", FakeContext(only_train, {}))["skipped"]


def test_conservation_correlation_bins_and_nan() -> None:
    cons = np.array([0.0, 0.25, 0.5, 0.74, 0.75, 0.99, 1.0, 1.0, np.nan])
    out = conservation_correlation(np.nan_to_num(cons) * 2, cons, correct=np.ones(9), bits=np.ones(9))
    assert out["n"] == 8 and out["n_missing"] == 1 and out["spearman"] == pytest.approx(1.0)
    assert [b["n"] for b in out["accuracy_by_conservation"]] == [2, 2, 2, 2]
    assert conservation_correlation(np.zeros(9), cons)["spearman"] is None


@pytest.mark.slow  # `import evaluate` alone takes ~10-20 s here
def test_evaluate_module_matches_library(repo_root: Path) -> None:
    import evaluate

    metric = evaluate.load(str(repo_root / "metrics" / "conservation"))
    rng = np.random.default_rng(2)
    score, cons = rng.normal(size=50), rng.integers(0, 5, size=50) / 4
    correct, bits = (rng.random(50) < 0.4).astype(float), rng.random(50) * 3
    got = metric.compute(log_likelihood=score.tolist(), conservation=cons.tolist(),
                         correct=correct.tolist(), bits=bits.tolist())  # fmt: skip
    assert got == conservation_correlation(score, cons, correct=correct, bits=bits)
