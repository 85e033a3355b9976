"""Taxon-disjoint splits (DESIGN.md, Splits — MUST) and their verification report.

Per kingdom: genomes are grouped by genus (``-`` -> species, ``-`` -> file), EUK genomes by order
(``GROUP_RANKS``; ``-`` -> genus): genera of one eukaryote order share much of their sequence (Homo and
Macaca ~93% identity, Mus and Rattus; primate- or rodent-specific repeat families) although different
regions of each genome rarely share enough 21-mers for the MinHash merge, so a model trained on one would
be scored on a near copy of its training data. Groups that share a species name or sequence (MinHash Jaccard >= ``threshold``) are merged; ``rare`` takes whole groups of phyla that
hold a single genus, smallest first, while at least three groups stay for train/validation/test and at
most ``rare_max`` are taken; the rest is assigned greedily by bases (largest group first, to the split
furthest below its 70/10/20 target), forcing the last groups into still-empty splits so that every split
is non-empty. Groups holding a ``held_out`` genome (those with strains, which the conservation task
scores) never go to train: a model or Markov chain fitted on train must not be scored on them.
Deterministic: ties break on group keys, never on dict or hash order.

``evaluation_only`` puts every genome in ``test`` (a folder too small to split, scored by models trained
elsewhere); the report and cards say so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from genobench_hf.data.sketch import Sketch
from genobench_hf.data.sketch_index import similar_pairs_indexed
from genobench_hf.data.taxonomy import MISSING, GenomeEntry
from genobench_hf.errors import ConfigError, InputError

SPLITS = ("train", "validation", "test", "rare")
MAIN_SPLITS = ("train", "validation", "test")
TARGETS = {"train": 0.7, "validation": 0.1, "test": 0.2}
DEFAULT_THRESHOLD = 0.01  # measured: lambda vs VT2-Sakai 0.033, unrelated genomes <= 0.002 (docs/DATASETS.md)
DEFAULT_RARE_RANK = "phylum"
DEFAULT_RARE_MAX = 2
#: rank at which a kingdom's genomes form split groups (genus where not listed); PRO and VIR stay at genus
GROUP_RANKS = {"EUK": "order"}
RANKS = ("domain", "phylum", "class", "order", "family")
EVALUATION_ONLY_HINT = (
    "to score models on these genomes without training on them, build with --evaluation-only "
    "(every genome in test)"
)


@dataclass(frozen=True)
class Merge:
    kingdom: str
    genome_a: str
    genome_b: str
    jaccard: float
    groups: tuple[str, str]


@dataclass
class SplitReport:
    """Assignment plus the evidence that it is taxon-disjoint (printed by the build, written in cards)."""

    assignment: dict[str, str]  # genome_id -> split
    table: dict[str, dict[str, tuple[int, int]]]  # kingdom -> split -> (genomes, bases)
    merges: list[Merge] = field(default_factory=list)
    rare_taxa: dict[str, list[str]] = field(default_factory=dict)  # kingdom -> rare phyla
    groups: dict[str, dict[str, str]] = field(default_factory=dict)  # kingdom -> group key -> split
    cross_kingdom: list[Merge] = field(default_factory=list)  # similar pairs in different kingdoms (reported)
    threshold: float = DEFAULT_THRESHOLD
    warnings: list[str] = field(default_factory=list)
    held_out: dict[str, list[str]] = field(default_factory=dict)  # kingdom -> genomes kept out of train
    evaluation_only: bool = False  # every genome in test: nothing here may be trained or fitted on

    def to_markdown(self, kingdom: str | None = None) -> str:
        """The split table (genomes, bases per split), the merges and the rare taxa, as Markdown."""
        lines = ["| kingdom | split | genomes | bases |", "|---|---|---:|---:|"]
        for king in sorted(self.table):
            if kingdom is not None and king != kingdom:
                continue
            for split in SPLITS:
                genomes, bases = self.table[king].get(split, (0, 0))
                lines.append(f"| {king} | {split} | {genomes} | {bases:,} |")
        merges = [m for m in self.merges if kingdom is None or m.kingdom == kingdom]
        lines.append("")
        lines.append(
            f"Sequence-sharing merges (MinHash Jaccard >= {self.threshold}): "
            + ("; ".join(f"{m.genome_a} + {m.genome_b} (J={m.jaccard:.3f})" for m in merges) or "none")
        )
        rare = {k: v for k, v in self.rare_taxa.items() if kingdom is None or k == kingdom}
        lines.append(
            "Rare taxa: "
            + ("; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in sorted(rare.items())) or "none")
        )
        kept = [g for k, gs in sorted(self.held_out.items()) if kingdom in (None, k) for g in gs]
        if kept:
            lines.append(
                "Kept out of train (genomes with strains, scored by the conservation task): "
                + ", ".join(kept)
            )
        if self.evaluation_only:
            lines.append(
                "**Evaluation-only build**: every genome is in `test`; there is no train or validation "
                "split, so no model or Markov chain is fitted on these genomes (score models trained elsewhere)."
            )
        return "\n".join(lines)


def group_key(entry: GenomeEntry) -> str:
    """The split group of a genome: its ``GROUP_RANKS`` taxon, else genus, species or file."""
    rank = GROUP_RANKS.get(entry.kingdom, "genus")
    if rank != "genus" and getattr(entry, rank) != MISSING:
        return f"{rank}:{getattr(entry, rank)}"
    if entry.genus != MISSING:
        return f"genus:{entry.genus}"
    if entry.species != MISSING:
        return f"species:{entry.species}"
    return f"file:{entry.file}"


class _UnionFind:
    def __init__(self, keys: Sequence[str]) -> None:
        self.parent = {k: k for k in keys}

    def find(self, key: str) -> str:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        lo, hi = sorted((ra, rb))
        self.parent[hi] = lo
        return True


def similar_pairs(entries: Sequence[GenomeEntry], sketches: Mapping[str, Sketch], threshold: float):
    """Every pair of genomes with Jaccard >= threshold, ordered by genome id (candidates from an inverted
    index over the sketch hashes, exact Jaccard on those: ``data/sketch_index.py``)."""
    present = [e for e in sorted(entries, key=lambda e: e.genome_id) if e.genome_id in sketches]
    for i, j, value in similar_pairs_indexed([sketches[e.genome_id] for e in present], threshold):
        yield present[i], present[j], value


def assign_splits(
    entries: Sequence[GenomeEntry],
    bases: Mapping[str, int],
    sketches: Mapping[str, Sketch],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    rare_rank: str = DEFAULT_RARE_RANK,
    rare_max: int = DEFAULT_RARE_MAX,
    held_out: Collection[str] = (),
    evaluation_only: bool = False,
) -> SplitReport:
    """Assign every genome a split (see module docstring) and verify the result.

    ``held_out``: genome ids whose taxon groups must not go to train (genomes with strains).
    """
    if rare_rank not in RANKS:
        raise ConfigError(f"--rare-rank must be one of {', '.join(RANKS)}, not {rare_rank!r}")
    if rare_max < 0:
        raise ConfigError("--rare-max must be >= 0")
    if evaluation_only:
        report = verify_splits(entries, dict.fromkeys((e.genome_id for e in entries), "test"), bases,
                               evaluation_only=True)  # fmt: skip
        report.evaluation_only = True
        return report
    held = set(held_out)
    assignment: dict[str, str] = {}
    merges: list[Merge] = []
    rare_taxa: dict[str, list[str]] = {}
    group_splits: dict[str, dict[str, str]] = {}
    by_kingdom: dict[str, list[GenomeEntry]] = defaultdict(list)
    for entry in entries:
        by_kingdom[entry.kingdom].append(entry)
    for kingdom, members in sorted(by_kingdom.items()):
        keys = {e.genome_id: group_key(e) for e in members}
        uf = _UnionFind(sorted(set(keys.values())))
        by_species: dict[str, str] = {}
        for e in sorted(members, key=lambda e: e.genome_id):
            if e.species != MISSING:
                uf.union(by_species.setdefault(e.species, keys[e.genome_id]), keys[e.genome_id])
        for a, b, value in similar_pairs(members, sketches, threshold):
            ka, kb = keys[a.genome_id], keys[b.genome_id]
            if uf.find(ka) != uf.find(kb):
                merges.append(Merge(kingdom, a.genome_id, b.genome_id, value, (ka, kb)))
            uf.union(ka, kb)
        groups: dict[str, list[GenomeEntry]] = defaultdict(list)
        for e in members:
            groups[uf.find(keys[e.genome_id])].append(e)
        size = {g: sum(bases[e.genome_id] for e in ms) for g, ms in groups.items()}

        # rare: groups all of whose genomes belong to phyla (rare_rank) with a single genus group here
        genera_per_taxon: dict[str, set[str]] = defaultdict(set)
        for e in members:
            genera_per_taxon[getattr(e, rare_rank)].add(keys[e.genome_id])
        candidates = sorted(
            (
                g
                for g, ms in groups.items()
                if all(
                    getattr(e, rare_rank) != MISSING and len(genera_per_taxon[getattr(e, rare_rank)]) == 1
                    for e in ms
                )
            ),
            key=lambda g: (size[g], g),
        )
        remaining = sorted(groups, key=lambda g: (-size[g], g))
        rare: list[str] = []
        for g in candidates:
            if len(rare) >= rare_max or len(remaining) - 1 < len(MAIN_SPLITS):
                break
            rare.append(g)
            remaining.remove(g)
        if len(remaining) < len(MAIN_SPLITS):
            raise InputError(
                f"kingdom {kingdom} has {len(remaining)} taxon group(s) after merging "
                f"({', '.join(remaining)}); train/validation/test need at least 3 genera (or species); "
                + EVALUATION_ONLY_HINT
            )
        kept = {g for g in remaining if any(e.genome_id in held for e in groups[g])}
        splits = {g: "rare" for g in rare} | _assign_main(kingdom, remaining, size, kept)
        for g, ms in groups.items():
            for e in ms:
                assignment[e.genome_id] = splits[g]
        rare_taxa[kingdom] = sorted({getattr(e, rare_rank) for g in rare for e in groups[g]})
        group_splits[kingdom] = {g: splits[g] for g in sorted(groups)}
    cross = [
        Merge(f"{a.kingdom}/{b.kingdom}", a.genome_id, b.genome_id, value, (group_key(a), group_key(b)))
        for a, b, value in similar_pairs(entries, sketches, threshold)
        if a.kingdom != b.kingdom
    ]
    report = verify_splits(entries, assignment, bases, sketches, threshold=threshold, held_out=held)
    report.merges, report.rare_taxa, report.groups, report.cross_kingdom = (
        merges,
        rare_taxa,
        group_splits,
        cross,
    )
    return report


def _assign_main(
    kingdom: str, remaining: Sequence[str], size: Mapping[str, int], kept: Collection[str]
) -> dict[str, str]:
    """Groups (largest first) -> train/validation/test, each to the split furthest below its target.

    The last groups fill splits still empty; ``kept`` groups never go to train, and the last group that
    may is forced there while train is empty.
    """
    if all(g in kept for g in remaining):
        raise InputError(
            f"kingdom {kingdom}: every taxon group holds a genome with strains, which must stay out of "
            f"train (the conservation task scores them); {EVALUATION_ONLY_HINT}"
        )
    total = sum(size[g] for g in remaining)
    filled = dict.fromkeys(MAIN_SPLITS, 0)
    used = dict.fromkeys(MAIN_SPLITS, 0)
    splits: dict[str, str] = {}
    for index, g in enumerate(remaining):
        allowed = [s for s in MAIN_SPLITS if s != "train" or g not in kept]
        empty = [s for s in MAIN_SPLITS if used[s] == 0]
        trainable_left = sum(h not in kept for h in remaining[index:])
        if used["train"] == 0 and g not in kept and trainable_left == 1:
            choices = ["train"]
        elif len(remaining) - index <= len(empty) and set(empty) & set(allowed):
            choices = [s for s in empty if s in allowed]
        else:
            choices = allowed
        split = max(choices, key=lambda s: (TARGETS[s] * total - filled[s], -MAIN_SPLITS.index(s)))
        splits[g] = split
        filled[split] += size[g]
        used[split] += 1
    return splits


def verify_splits(
    entries: Sequence[GenomeEntry],
    assignment: Mapping[str, str],
    bases: Mapping[str, int],
    sketches: Mapping[str, Sketch] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    held_out: Collection[str] = (),
    evaluation_only: bool = False,
) -> SplitReport:
    """Check the MUST rules independently of how ``assignment`` was made; raise InputError on a violation.

    Within each kingdom: no genus, no species and no ``GROUP_RANKS`` taxon (EUK: order) in two splits; no pair with Jaccard >= threshold in two
    splits; train, validation and test each hold at least one genome; no ``held_out`` genome in train.
    ``evaluation_only``: every genome must be in test (the other rules then hold trivially).
    """
    table: dict[str, dict[str, tuple[int, int]]] = {}
    by_kingdom: dict[str, list[GenomeEntry]] = defaultdict(list)
    for entry in entries:
        if assignment.get(entry.genome_id) not in SPLITS:
            raise InputError(
                f"genome has no valid split ({assignment.get(entry.genome_id)!r})", record=entry.genome_id
            )
        if evaluation_only and assignment[entry.genome_id] != "test":
            raise InputError("evaluation-only build with a genome outside test", record=entry.genome_id)
        if entry.genome_id in held_out and assignment[entry.genome_id] == "train":
            raise InputError(
                "genome has strains (scored by the conservation task) but is in train", record=entry.genome_id
            )
        by_kingdom[entry.kingdom].append(entry)
    warnings = []
    for kingdom, members in sorted(by_kingdom.items()):
        for rank in dict.fromkeys(("genus", "species", GROUP_RANKS.get(kingdom, "genus"))):
            seen: dict[str, tuple[str, str]] = {}
            for e in members:
                value = getattr(e, rank)
                if value == MISSING:
                    continue
                split = assignment[e.genome_id]
                other = seen.setdefault(value, (split, e.genome_id))
                if other[0] != split:
                    raise InputError(
                        f"{rank} {value!r} is in two splits: {other[1]} ({other[0]}) and {e.genome_id} ({split})",
                        record=e.genome_id,
                    )
        if sketches is not None:
            for a, b, value in similar_pairs(members, sketches, threshold):
                if assignment[a.genome_id] != assignment[b.genome_id]:
                    raise InputError(
                        f"near-identical genomes straddle splits: {a.genome_id} ({assignment[a.genome_id]}) and "
                        f"{b.genome_id} ({assignment[b.genome_id]}), Jaccard {value:.3f} >= {threshold}"
                    )
        counts = {s: [0, 0] for s in SPLITS}
        for e in members:
            counts[assignment[e.genome_id]][0] += 1
            counts[assignment[e.genome_id]][1] += bases[e.genome_id]
        empty = [s for s in MAIN_SPLITS if counts[s][0] == 0]
        if empty and not evaluation_only:
            raise InputError(
                f"kingdom {kingdom}: split(s) {', '.join(empty)} would be empty; {EVALUATION_ONLY_HINT}"
            )
        if counts["rare"][0] == 0 and not evaluation_only:
            warnings.append(f"kingdom {kingdom}: no rare genomes (no single-genus phylum could be spared)")
        table[kingdom] = {s: (c[0], c[1]) for s, c in counts.items()}
    kept = {k: sorted(e.genome_id for e in ms if e.genome_id in held_out) for k, ms in by_kingdom.items()}
    return SplitReport(
        assignment=dict(assignment),
        table=table,
        threshold=threshold,
        warnings=warnings,
        held_out={k: v for k, v in kept.items() if v},
        evaluation_only=evaluation_only,
    )
