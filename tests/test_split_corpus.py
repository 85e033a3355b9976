"""The embedded corpus's real split: the EUK targets of issue 14 (read from the corpus, not pinned), EUK
grouped by order so that genera of one order never straddle splits, and PRO/VIR unchanged by the wider
EUK corpus (their reference models were trained on that assignment)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from genobench_hf.data.splits import GROUP_RANKS, assign_splits, verify_splits
from genobench_hf.data.taxonomy import GenomeEntry, embedded_corpus_dir, load_corpus, read_manifest
from genobench_hf.errors import InputError

PINNED = Path(__file__).parent / "fixtures" / "splits" / "pro_vir_assignment.json"


def entry(gid: str, kingdom: str, order: str, genus: str) -> GenomeEntry:
    path = Path(f"{kingdom}/{gid}.fna")
    return GenomeEntry(gid, str(path), path, kingdom, "D", "P", "c", order, "f", genus, f"{genus} sp", "-", 1)


def test_pro_and_vir_assignment_is_the_pinned_one(built_corpus) -> None:
    """Widening EUK must not move a PRO or VIR genome (the fixture is the assignment before EUK grew)."""
    _, summary = built_corpus
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    kingdom = {e.genome_id: e.kingdom for e in load_corpus(embedded_corpus_dir())}
    for name in ("PRO", "VIR"):
        got = {g: s for g, s in summary.report.assignment.items() if kingdom[g] == name}
        assert got == pinned[name], name


def test_euk_split_has_the_genera_issue_14_asks_for(built_corpus) -> None:
    """>= 10 EUK genera; >= 3 in train (>= 3 of them with >= 1.5 Mb) and >= 2 in test; no order in two
    splits (verify_splits checks it too)."""
    _, summary = built_corpus
    euk = [e for e in load_corpus(embedded_corpus_dir()) if e.kingdom == "EUK"]
    split = summary.report.assignment
    genera: dict[str, set[str]] = defaultdict(set)
    orders: dict[str, set[str]] = defaultdict(set)
    for e in euk:
        genera[split[e.genome_id]].add(e.genus)
        orders[e.order].add(split[e.genome_id])
    assert len({e.genus for e in euk}) >= 10
    assert len(genera["train"]) >= 3 and len(genera["test"]) >= 2
    assert all(len(s) == 1 for s in orders.values()), orders
    manifest = read_manifest(embedded_corpus_dir() / "MANIFEST.tsv")
    train_bp: dict[str, int] = defaultdict(int)
    for e in euk:
        if split[e.genome_id] == "train":
            train_bp[e.genus] += int(manifest[e.file]["total_bp"])
    assert sum(bp >= 1_500_000 for bp in train_bp.values()) >= 3, train_bp


@pytest.mark.parametrize("kingdom", ["EUK", "PRO"])
def test_genera_of_one_order_share_a_split_only_in_euk(kingdom: str) -> None:
    """Two EUK genera of one order (Homo, Macaca) form one group; PRO still groups by genus."""
    entries = [entry("homo", kingdom, "Primates", "Homo"), entry("macaca", kingdom, "Primates", "Macaca")]
    entries += [entry(f"g{i}", kingdom, f"Order{i}", f"Genus{i}") for i in range(4)]
    bases = {e.genome_id: 10**6 * (i + 1) for i, e in enumerate(entries)}
    report = assign_splits(entries, bases, {}, rare_max=0)
    together = report.assignment["homo"] == report.assignment["macaca"]
    # sizes put them apart when they are two groups (assign_splits verified that assignment: allowed in PRO)
    assert together if kingdom == "EUK" else not together
    apart = dict(report.assignment) | {"macaca": "test" if report.assignment["homo"] != "test" else "train"}
    if GROUP_RANKS.get(kingdom) == "order":
        with pytest.raises(InputError, match="order 'Primates' is in two splits"):
            verify_splits(entries, apart, bases)


def test_cards_state_each_kingdoms_group_rank(built_corpus) -> None:
    out, _ = built_corpus
    assert "grouped by order" in (out / "EUK" / "README.md").read_text(encoding="utf-8")
    reads = (out / "EUK_reads" / "README.md").read_text(encoding="utf-8")
    assert "no genus, no order and no species" in reads
    pro = (out / "PRO" / "README.md").read_text(encoding="utf-8")
    assert "grouped by genus" in pro and "no order" not in pro
