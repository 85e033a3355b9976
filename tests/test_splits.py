"""Splits are taxon-disjoint (DESIGN.md MUST): proven on the built datasets and on the embedded real corpus."""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np
import pytest
from datasets import load_dataset

from genobench_hf.data.annotations import read_genbank_sequences
from genobench_hf.data.fasta import read_fasta, reverse_complement
from genobench_hf.data.sketch import Sketch, canonical_kmer_hashes, jaccard
from genobench_hf.data.splits import DEFAULT_THRESHOLD, MAIN_SPLITS, SPLITS, assign_splits, verify_splits
from genobench_hf.data.taxonomy import MISSING, GenomeEntry, load_corpus
from genobench_hf.errors import ConfigError, InputError


def check_disjoint(rows_by_split: dict[str, list[dict]]) -> None:
    """Independent check on dataset rows: no genus/species in two splits; main splits non-empty."""
    for rank in ("genus", "species"):
        seen: dict[str, str] = {}
        for split, rows in rows_by_split.items():
            for row in rows:
                if row[rank] != MISSING:
                    assert seen.setdefault(row[rank], split) == split, (rank, row[rank])
    for split in MAIN_SPLITS:
        assert rows_by_split.get(split), split


def test_built_datasets_are_taxon_disjoint(built_corpus):
    out, summary = built_corpus
    for name in ("PRO", "EUK", "VIR", "PRO_reads", "EUK_reads", "VIR_reads"):
        columns = ["genome_id", "genus", "species"]
        rows = {s: load_dataset(str(out / name), split=s).select_columns(columns).to_list() for s in SPLITS}
        check_disjoint(rows)
        assert all(rows[s] for s in SPLITS), name  # the embedded corpus fills rare too
    # lambda and VT2-Sakai share sequence (J ~ 0.03): merged, so the same split
    a = summary.report.assignment
    assert a["Escherichia_phage_lambda"] == a["Escherichia_phage_VT2-Sakai"]
    assert any(
        {m.genome_a, m.genome_b} == {"Escherichia_phage_lambda", "Escherichia_phage_VT2-Sakai"}
        for m in summary.report.merges
    )


@pytest.mark.slow  # ~5 s CPU (sketches the corpus's 40 Mb); far more on a loaded machine
def test_corpus_splits_disjoint(corpus_genomes):
    entries = load_corpus(corpus_genomes)
    sketches, bases = {}, {}
    for e in entries:  # sketch only (no annotations): what the split algorithm needs
        reader = read_genbank_sequences(e.path) if e.is_genbank else read_fasta(e.path)
        sketch, bases[e.genome_id] = Sketch(), 0
        for record in reader:
            sketch.update(record.sequence)
            bases[e.genome_id] += len(record.sequence)
        sketches[e.genome_id] = sketch
    report = assign_splits(entries, bases, sketches)
    rows = defaultdict(list)
    for e in entries:
        rows[report.assignment[e.genome_id]].append(
            {"genus": e.genus, "species": e.species, "kingdom": e.kingdom}
        )
    check_disjoint(rows)
    for kingdom in ("PRO", "EUK", "VIR"):
        assert all(report.table[kingdom][s][0] > 0 for s in SPLITS), kingdom
    for a in entries:  # near-identical never straddle (within a kingdom)
        for b in entries:
            if (
                a.kingdom == b.kingdom
                and jaccard(sketches[a.genome_id], sketches[b.genome_id]) >= DEFAULT_THRESHOLD
            ):
                assert report.assignment[a.genome_id] == report.assignment[b.genome_id]
    assert report.assignment == assign_splits(entries, bases, sketches).assignment  # deterministic


def fake(gid: str, genus: str, phylum: str, kingdom: str = "EUK", species: str | None = None) -> GenomeEntry:
    return GenomeEntry(
        gid,
        f"{kingdom}/{gid}.fna",
        None,
        kingdom,
        "D",
        phylum,
        "c",
        f"{genus}ales",  # one order per genus: EUK groups by order (splits.GROUP_RANKS)
        "f",
        genus,  # type: ignore[arg-type]
        species or f"{genus} sp",
        "-",
        1,
    )


def test_handful_of_genera_fill_every_split():
    entries = [fake(f"g{i}", f"Genus{i}", f"Phylum{i}") for i in range(5)]
    bases = {e.genome_id: 10**6 * (i + 1) for i, e in enumerate(entries)}
    report = assign_splits(entries, bases, {}, rare_max=2)
    counts = report.table["EUK"]
    assert all(counts[s][0] >= 1 for s in SPLITS)
    assert counts["rare"][0] == 2 and report.assignment["g0"] == "rare"  # smallest single-genus phyla first
    with pytest.raises(InputError, match="at least 3"):
        assign_splits(entries[:2], bases, {})
    with pytest.raises(ConfigError):
        assign_splits(entries, bases, {}, rare_rank="genus")


def test_rare_never_starves_main_splits():
    entries = [fake(f"g{i}", f"Genus{i}", f"Phylum{i}") for i in range(3)]
    report = assign_splits(entries, {e.genome_id: 100 for e in entries}, {}, rare_max=5)
    assert report.table["EUK"]["rare"][0] == 0 and report.warnings


def test_verify_splits_catches_violations():
    entries = [fake("a", "G1", "P"), fake("b", "G1", "P"), fake("c", "G2", "P"), fake("d", "G3", "P")]
    bases = dict.fromkeys("abcd", 10)
    good = {"a": "train", "b": "train", "c": "validation", "d": "test"}
    verify_splits(entries, good, bases)
    with pytest.raises(InputError, match="genus 'G1'"):
        verify_splits(entries, {**good, "b": "test"}, bases)
    with pytest.raises(InputError, match="empty"):
        verify_splits(entries, {**good, "c": "train"}, bases)
    rng = random.Random(1)
    seq = "".join(rng.choice("ACGT") for _ in range(5000))
    sketches = {g: Sketch.of([seq]) for g in "cd"} | {g: Sketch.of([str(i) * 0]) for i, g in enumerate("ab")}
    with pytest.raises(InputError, match="near-identical"):
        verify_splits(entries, good, bases, sketches)


def test_sketch_canonical_and_jaccard():
    rng = random.Random(3)
    seq = "".join(rng.choice("ACGT") for _ in range(20000))
    other = "".join(rng.choice("ACGT") for _ in range(20000))
    a, rc = Sketch.of([seq]), Sketch.of([reverse_complement(seq)])
    assert np.array_equal(a.hashes, rc.hashes) and jaccard(a, rc) == 1.0
    assert jaccard(a, Sketch.of([other])) < 0.01
    half = Sketch.of([seq[:10000] + other[:10000]])
    assert 0.2 < jaccard(a, half) < 0.45  # true value 1/3
    assert len(canonical_kmer_hashes("ACGTNACGT", 3)) == 4  # k-mers with N are skipped
    assert Sketch.of(["ACGTACGTAC"[:5]], k=21).hashes.size == 0


@pytest.mark.slow
def test_cli_build_from_a_corpus_folder(corpus_genomes, tmp_path):
    from genobench_hf.cli import main

    out = tmp_path / "out"
    args = [
        "datasets",
        "build",
        "--out",
        str(out),
        "--source",
        str(corpus_genomes),
        "--taxonomy",
        str(corpus_genomes / "TAXONOMY.tsv"),
        "--reads-per-genome",
        "20",
        "--quiet",
        "--no-conservation",  # splits only; the strain alignment has its own tests
        "--names",
        "PRO",
        "EUK",
        "VIR",
    ]
    assert main(args) == 0
    for name in ("PRO", "EUK", "VIR"):
        rows = {
            s: load_dataset(str(out / name), split=s).select_columns(["genus", "species"]).to_list()
            for s in SPLITS
        }
        check_disjoint(rows)


def _reference_hashes(seq: str, k: int) -> list[int]:
    """Canonical k-mer hashes the slow way: 2-bit packing per k-mer, splitmix64 in Python integers."""
    code = {"A": 0, "C": 1, "G": 2, "T": 3}
    mask = (1 << 64) - 1
    out = []
    for i in range(len(seq) - k + 1):
        kmer = seq[i : i + k].upper().replace("U", "T")
        if any(c not in code for c in kmer):
            continue
        fwd = rev = 0
        for c in kmer:
            fwd = (fwd << 2) | code[c]
        for c in reversed(kmer):
            rev = (rev << 2) | (3 - code[c])
        x = min(fwd, rev)
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        out.append(x ^ (x >> 31))
    return out


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 13, 16, 21, 31])
def test_kmer_hashes_and_sketch_match_a_reference(k, monkeypatch):
    import genobench_hf.data.sketch as sketch_module

    rng = random.Random(k)
    seq = "".join(rng.choice("ACGTACGTNacgu") for _ in range(700))
    expected = _reference_hashes(seq, k)
    assert canonical_kmer_hashes(seq, k).tolist() == expected
    monkeypatch.setattr(sketch_module, "_BLOCK", 50)  # many blocks: k-mers across block edges
    sketch = Sketch(k=k, size=40).update(seq)
    assert sketch.hashes.tolist() == sorted(set(expected))[:40]
    other = Sketch(k=k, size=40).update(seq[300:])
    a, b = set(sketch.hashes.tolist()), set(other.hashes.tolist())
    union = sorted(a | b)[:40]
    assert jaccard(sketch, other) == len(set(union) & a & b) / len(union)
