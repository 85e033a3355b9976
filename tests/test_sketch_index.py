"""The inverted index over sketch hashes finds exactly the pairs (and groups) the all-pairs loop finds."""

from __future__ import annotations

import numpy as np
import pytest

from genobench_hf.data import splits
from genobench_hf.data.fasta import read_fasta
from genobench_hf.data.genbank import read_genbank_sequences
from genobench_hf.data.sketch import Sketch, jaccard
from genobench_hf.data.sketch_index import all_pairs, candidate_pairs, similar_pairs_indexed
from genobench_hf.data.splits import assign_splits
from genobench_hf.data.taxonomy import GenomeEntry, embedded_corpus_dir, load_corpus, load_strains


@pytest.fixture(scope="module")
def corpus_sketches() -> tuple[list[GenomeEntry], dict[str, Sketch], dict[str, int]]:
    """Real sketches of every embedded genome and strain (the strains share most k-mers with their
    reference genomes: the related pairs)."""
    folder = embedded_corpus_dir()
    entries = load_corpus(folder) + load_strains(folder)
    sketches, bases = {}, {}
    for e in entries:
        reader = read_genbank_sequences(e.path) if e.is_genbank else read_fasta(e.path)
        sketch, bases[e.genome_id] = Sketch(), 0
        for record in reader:
            sketch.update(record.sequence)
            bases[e.genome_id] += len(record.sequence)
        sketches[e.genome_id] = sketch
    return entries, sketches, bases


def _mutate(rng: np.random.Generator, seq: np.ndarray, rate: float) -> np.ndarray:
    out = seq.copy()
    hit = rng.random(len(seq)) < rate
    out[hit] = rng.integers(0, 4, hit.sum())
    return out


def _synthetic(seed: int = 0) -> list[Sketch]:
    """Families of related sequences (point mutations at several rates, fragments, exact copies), unrelated
    ones, empty and tiny sketches, in a shuffled order."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(6):
        base = rng.integers(0, 4, 60_000)
        family = [base, base.copy(), base[:15_000], base[40_000:]]
        family += [_mutate(rng, base, r) for r in (0.001, 0.01, 0.03, 0.08, 0.3)]
        out += ["".join("ACGT"[i] for i in f) for f in family]
    out += ["".join("ACGT"[i] for i in rng.integers(0, 4, 20_000)) for _ in range(10)]
    out += ["", "ACGT", "N" * 100]
    order = rng.permutation(len(out))
    return [Sketch(size=200).update(out[i]) for i in order]


@pytest.mark.parametrize("threshold", [1e-9, 0.01, 0.05, 0.3, 0.99, 1.0, 0.0])
def test_index_finds_the_all_pairs_list(threshold: float) -> None:
    sketches = _synthetic()
    want = all_pairs(sketches, threshold)
    assert similar_pairs_indexed(sketches, threshold) == want
    if 0 < threshold <= 0.3:
        assert len(want) >= 6 * 10  # the families really are found (the test is not vacuous)


def test_candidates_cover_every_pair_with_a_positive_estimate(corpus_sketches) -> None:
    _, by_id, _ = corpus_sketches
    sketches = [by_id[g] for g in sorted(by_id)]
    candidates = {tuple(p) for p in candidate_pairs(sketches).tolist()}
    positive = {(i, j) for i, j, v in all_pairs(sketches, 0.0) if v > 0}
    assert positive <= candidates and positive  # strains vs their references at least
    assert len(candidates) < len(sketches) * (len(sketches) - 1) // 2  # sub-quadratic in practice


def test_real_corpus_groups_identical_to_all_pairs(corpus_sketches, monkeypatch) -> None:
    """assign_splits through the index vs through the serial all-pairs loop: same splits, merges, groups.

    The embedded corpus plus synthetic genomes that share sequence across genera (so merges happen)."""
    entries, sketches, bases = corpus_sketches
    strains = {e.genome_id for e in load_strains(embedded_corpus_dir())}
    entries = [e for e in entries if e.genome_id not in strains]  # what a dataset build splits
    rng = np.random.default_rng(4)
    extra = []
    for family in range(4):
        base = rng.integers(0, 4, 40_000)
        for member in range(3):  # each member its own genus: only sequence sharing can merge them
            seq = "".join("ACGT"[i] for i in _mutate(rng, base, 0.02 * member))
            gid = f"synthetic_{family}_{member}"
            extra.append(GenomeEntry(
                gid, f"VIR/{gid}.fna", None, "VIR", "Viruses", f"phylum{family}", "c", "o", "f",
                f"Genus{family}x{member}", f"Genus{family}x{member} sp", "-", 1,
            ))  # fmt: skip
            sketches = sketches | {gid: Sketch().update(seq)}
            bases = bases | {gid: len(seq)}
    entries = entries + extra
    indexed = assign_splits(entries, bases, sketches)
    monkeypatch.setattr(splits, "similar_pairs_indexed", all_pairs)
    serial = assign_splits(entries, bases, sketches)
    assert indexed.assignment == serial.assignment
    assert indexed.groups == serial.groups
    assert indexed.merges == serial.merges and indexed.cross_kingdom == serial.cross_kingdom
    assert len(indexed.merges) >= 4 * 2  # the synthetic families were merged by sequence


def test_mixed_k_is_refused_like_jaccard() -> None:
    a, b = Sketch(k=21).update("ACGT" * 20), Sketch(k=15).update("ACGT" * 20)
    with pytest.raises(ValueError, match="different k"):
        jaccard(a, b)
    with pytest.raises(ValueError, match="different k"):
        similar_pairs_indexed([a, b], 0.01)


def test_repeated_hashes_inside_one_sketch_make_no_self_pair() -> None:
    a = Sketch(hashes=np.array([1, 1, 5, 9], dtype=np.uint64))
    b = Sketch(hashes=np.array([5, 7], dtype=np.uint64))
    assert candidate_pairs([a, b]).tolist() == [[0, 1]]
    assert similar_pairs_indexed([a, b], 0.01) == all_pairs([a, b], 0.01)
