"""Split assignment on 2,000 genome sketches: all-pairs Jaccard (the previous path) vs the hash index.

The sketches are the real ones of the embedded corpus (genomes and strains) plus synthetic bottom-k
sketches of genome families: each family draws a pool of k-mer hashes, each member keeps a random share
of it (0.5-100%, so Jaccard spans near-identical to unrelated) plus private hashes, and its sketch is the
1,000 smallest of that set, as ``Sketch`` would keep. Genomes get one genus each (families span genera,
so only sequence sharing can merge them) over three kingdoms. Both paths run ``assign_splits`` end to
end (per-kingdom merging, cross-kingdom report, verification); the groups must be identical.
Run: ``python benchmarks/bench_splits.py [--n 2000]``; ends with ``RATIO split_assignment_2000``.
"""

from __future__ import annotations

import argparse
import time
from unittest.mock import patch

import numpy as np

from genobench_hf.data import splits
from genobench_hf.data.fasta import read_fasta
from genobench_hf.data.genbank import read_genbank_sequences
from genobench_hf.data.sketch import DEFAULT_SIZE, Sketch
from genobench_hf.data.sketch_index import all_pairs
from genobench_hf.data.taxonomy import GenomeEntry, embedded_corpus_dir, load_corpus, load_strains

KINGDOMS = ("PRO", "EUK", "VIR")


def real_sketches() -> list[Sketch]:
    folder = embedded_corpus_dir()
    out = []
    for e in load_corpus(folder) + load_strains(folder):
        reader = read_genbank_sequences(e.path) if e.is_genbank else read_fasta(e.path)
        sketch = Sketch()
        for record in reader:
            sketch.update(record.sequence)
        out.append(sketch)
    return out


def family_sketches(n: int, seed: int = 0) -> list[Sketch]:
    """``n`` bottom-k sketches in families of 1-8 members sharing a random share of their k-mers."""
    rng = np.random.default_rng(seed)
    out: list[Sketch] = []
    while len(out) < n:
        pool = rng.integers(0, 2**64, 4 * DEFAULT_SIZE, dtype=np.uint64, endpoint=False)
        for _ in range(min(int(rng.integers(1, 9)), n - len(out))):
            keep = pool[rng.random(len(pool)) < rng.uniform(0.005, 1.0)]
            own = rng.integers(0, 2**64, 4 * DEFAULT_SIZE, dtype=np.uint64, endpoint=False)
            hashes = np.unique(np.concatenate((keep, own)))[:DEFAULT_SIZE]
            out.append(Sketch(hashes=hashes))
    return out


def entry(i: int) -> GenomeEntry:
    kingdom = KINGDOMS[i % 3]
    gid = f"g{i:05d}"
    return GenomeEntry(
        gid, f"{kingdom}/{gid}.fna", None, kingdom, "D", f"phylum{i % 17}", "c", "o", "f",  # type: ignore[arg-type]
        f"Genus{i}", f"Genus{i} sp", "-", 1,
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    real = real_sketches()
    sketches = real + family_sketches(args.n - len(real))
    order = np.random.default_rng(1).permutation(len(sketches))
    entries = [entry(i) for i in range(len(sketches))]
    by_id = {e.genome_id: sketches[j] for e, j in zip(entries, order, strict=True)}
    bases = {e.genome_id: 1_000_000 for e in entries}

    t = time.perf_counter()
    fast = splits.assign_splits(entries, bases, by_id)
    t_fast = time.perf_counter() - t
    with patch.object(splits, "similar_pairs_indexed", all_pairs):  # the previous serial loop
        t = time.perf_counter()
        slow = splits.assign_splits(entries, bases, by_id)
        t_slow = time.perf_counter() - t
    assert fast.assignment == slow.assignment and fast.groups == slow.groups, "groups differ"
    assert fast.merges == slow.merges and fast.cross_kingdom == slow.cross_kingdom, "merges differ"
    n_groups = sum(len(g) for g in fast.groups.values())
    print(f"## assign_splits, {len(sketches)} sketches ({len(real)} real, 3 kingdoms)")
    print(f"{len(fast.merges)} merges within kingdoms, {len(fast.cross_kingdom)} across; {n_groups} groups")
    print(f"all pairs (previous)   {t_slow:8.2f} s")
    print(f"hash index             {t_fast:8.2f} s   (identical splits, groups and merges)")
    print(f"RATIO split_assignment_{len(sketches)} {t_slow / t_fast:.1f}")


if __name__ == "__main__":
    main()
