"""Probe labels, sampling, formulas and the aa_probe/cds_probe tasks on real annotated genomes.

Rows are built like dataset rows from the embedded corpus (Chlamydia, S. pyogenes, Mycoplasmoides alvi
GenBank files). The truth-known model is test_ablation's NeighbourLM with an oracle that writes the
coding/non-coding label into channel ORACLE (a test double; the pipeline never sees labels).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from test_ablation import ORACLE, neighbour_model

from genobench_hf.data.fasta import reverse_complement
from genobench_hf.data.genetic_code import translate
from genobench_hf.errors import ConfigError
from genobench_hf.metrics.probes import (
    auroc,
    gini,
    half_effect_count,
    importance_summary,
    macro_f1,
    neuron_selectivity,
    one_vs_rest_auroc,
    probe_scores,
)
from genobench_hf.probes import AA_CLASSES, onehot_features, row_labels, sample_windows, split_genomes
from genobench_hf.tasks.base import TaskConfig
from genobench_hf.tasks.probes import AminoAcidProbe, CodingProbe
from genobench_hf.testing_context import MemoryContext

GENOMES = (("Chlamydia_trachomatis_D-UW-3-CX", 11), ("Streptococcus_pyogenes_M1_GAS", 11),
           ("Mycoplasmoides_alvi_ATCC29626", 4))  # fmt: skip


@pytest.fixture(scope="module")
def rows(corpus_genomes: Path) -> list[dict[str, Any]]:
    """The first 60 kb of each genome as a dataset row (cds in contig coordinates)."""
    from genobench_hf.data.rows import contig_rows, load_genome
    from genobench_hf.data.taxonomy import GenomeEntry

    out = []
    for name, code in GENOMES:
        path = corpus_genomes / "PRO" / f"{name}.fna.gz"
        entry = GenomeEntry(name, f"PRO/{path.name}", path, "PRO", *["-"] * 7, "0", code,
                            annotation=corpus_genomes / "PRO" / f"{name}.gbk.gz")  # fmt: skip
        row = next(iter(contig_rows(load_genome(entry), chunk_size=60_000)))
        out.append(row | {"split": "test"})
    return out


def _ctx(rows: list[dict], loaded: Any, **extra: Any) -> Any:
    config = SimpleNamespace(task=TaskConfig(window=64, extra=extra), batch_size=64, show_progress=False)
    return MemoryContext(
        lambda dataset, split: [r for r in rows if r["split"] == split], config, encoder=loaded
    )


# ----------------------------------------------------------------------------- labels and sampling
def test_amino_acid_and_frame_labels_match_the_annotation(rows: list[dict]) -> None:
    checked = 0
    for row in rows:
        labels, seq = row_labels(row), row["sequence"]
        for seg in row["cds"]:
            s, e = seg["start"], seg["end"]
            if e > len(seq) or not seg["translation_ok"] or (labels.frame[s:e] < 0).any():
                continue
            minus = seg["strand"] == "-"
            assert set(labels.frame[s:e].tolist()) == ({4, 5, 6} if minus else {1, 2, 3})
            if seg["phase"]:
                continue
            protein = translate(reverse_complement(seq[s:e]) if minus else seq[s:e], seg["transl_table"])
            starts = range(e - 1, s + 1, -3) if minus else range(s, e - 2, 3)
            assert "".join(AA_CLASSES[labels.aa[i]] for i in starts) == protein
            checked += 1
    assert checked > 30


def test_genes_overlapping_in_two_frames_are_dropped() -> None:
    seq = "ATG" + "GCT" * 10 + "TAA" + "C" * 30
    gene = {"strand": "+", "phase": 0, "transl_table": 11, "translation_ok": True}
    row = {"sequence": seq, "chunk_start": 100, "genetic_code": 11, "cds": [
        gene | {"start": 100, "end": 136, "gene_id": "a"},
        gene | {"start": 103, "end": 136, "gene_id": "same_frame"},  # an alternative start: agrees
    ]}  # fmt: skip
    lab = row_labels(row)
    assert (
        lab.genes_dropped == 0 and lab.frame[:36].tolist() == [1, 2, 3] * 12 and (lab.frame[36:] == 0).all()
    )
    assert "".join(AA_CLASSES[lab.aa[i]] for i in range(0, 36, 3)) == "M" + "A" * 10 + "*"
    row["cds"].append(gene | {"start": 130, "end": 160, "gene_id": "b", "strand": "-"})
    lab = row_labels(row)
    assert lab.genes_dropped == 3 and (lab.frame[:60] == -1).all() and (lab.aa == -1).all()


def test_balanced_window_sample(rows: list[dict]) -> None:
    labels = {i: row_labels(r).frame for i, r in enumerate(rows)}
    quotas = {0: 300, **dict.fromkeys(range(1, 7), 50)}
    sample = sample_windows(rows, labels, quotas, window=64, seed=1, key="t")
    assert np.bincount(sample.labels).tolist() == [300] + [50] * 6
    offsets = [o for offs in sample.offsets() for o in offs]
    assert min(offsets) >= 16 and max(offsets) < 48  # the central half of each window
    assert len(sample.windows) < len(sample) / 3  # several nucleotides per forward pass
    texts = sample.texts(rows, 64)
    for w, r, p in zip(sample.window_id[:50], sample.rows[:50], sample.positions[:50], strict=True):
        start = sample.windows[w][1]
        assert texts[w][p - start] == rows[r]["sequence"][p]
    again = sample_windows(rows, labels, quotas, window=64, seed=1, key="t")
    assert np.array_equal(again.positions, sample.positions)
    assert not np.array_equal(sample_windows(rows, labels, quotas, window=64, seed=2, key="t").positions,
                              sample.positions)  # fmt: skip
    x = onehot_features(texts, sample.offsets(), flank=2)
    assert x.shape == (len(sample), 20) and np.all(x.sum(axis=1) <= 5)
    left = onehot_features(texts, sample.offsets(), flank=2, left_only=True)
    assert left.shape == (len(sample), 12) and np.array_equal(left, x[:, :12])  # the 3 nt ending at the site
    split = split_genomes({"a": "train", "b": "train", "c": "test", "d": "rare", "e": "train"},
                          validation_fraction=0.3, seed=0, dataset="PRO")  # fmt: skip
    assert split.test == ["c", "d"] and sorted(split.train + split.validation) == ["a", "b", "e"]
    assert split.validation and split.train and any("at least 3" in n for n in split.notes)
    lent = split_genomes(dict.fromkeys("abc", "test"), validation_fraction=0.3, seed=0, dataset="PRO")
    assert len(lent.test) == 1 and len(lent.train) == len(lent.validation) == 1 and len(lent.notes) == 3
    with pytest.raises(ConfigError, match=">= 3 annotated genomes"):
        split_genomes({"a": "test", "b": "train"}, validation_fraction=0.3, seed=0, dataset="PRO")


# ----------------------------------------------------------------------------- formulas
def test_formulas_match_scikit_learn() -> None:
    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 400)
    p = np.where(rng.random(400) < 0.6, y, rng.integers(0, 6, 400))
    assert macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro"))
    scores = np.round(rng.normal(size=400) + (y == 2), 1)  # ties
    assert auroc(scores, y == 2) == pytest.approx(roc_auc_score(y == 2, scores))
    x = np.stack([scores, -scores, np.zeros(400)], axis=1)
    table = one_vs_rest_auroc(x, y)
    assert table[0, 2] == pytest.approx(1 - table[1, 2]) and np.all(table[2] == 0.5)
    sel = neuron_selectivity(x, y, class_names=list("abcde"))
    assert sel["best_neuron"]["class"] == "c" and sel["best_neuron"]["index"] in (0, 1)
    assert auroc([1.0, 2.0], [True, True]) is None
    out = probe_scores([0, 1, 1, 0], [0, 1, 0, 0], positive_scores=[0.1, 0.9, 0.4, 0.3], groups="abab")
    assert out["accuracy"] == 0.75 and out["auroc"] == 1.0 and out["by_group"]["a"]["accuracy"] == 0.5


def test_importance_summaries() -> None:
    assert gini([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.75) and gini([2.0, 2.0, 2.0]) == pytest.approx(0.0)
    assert gini([0.0, -1.0]) is None and half_effect_count([0.0, 0.0]) is None
    assert half_effect_count([0.1, 0.5, 0.2, 0.2]) == 1 and half_effect_count([1, 1, 1, 1]) == 2
    out = importance_summary({"accuracy": 0.5, "bits_per_nt": 1.8},
                             [{"accuracy": 0.4, "bits_per_nt": 1.9}, {"accuracy": 0.5, "bits_per_nt": 1.7}],
                             indices=[3, 7])  # fmt: skip
    assert out["ranking"] == [3, 7] and out["half_effect_neurons"] == 1
    assert out["per_neuron"][0] == {
        "index": 3,
        "delta_accuracy": pytest.approx(0.1),
        "delta_bits": pytest.approx(0.1),
    }
    with pytest.raises(ConfigError):
        macro_f1([0.5, 1.0], [0, 1])


@pytest.fixture(scope="module")
def modules(repo_root: Path) -> dict[str, Any]:
    assert os.environ.get("HF_EVALUATE_OFFLINE") == "1"
    import evaluate

    return {n: evaluate.load(str(repo_root / "metrics" / n)) for n in ("probe_summary", "neuron_importance")}


def test_evaluate_modules_equal_the_library(modules: dict[str, Any]) -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 200)
    p = np.where(rng.random(200) < 0.8, y, 1 - y)
    s, groups, act = rng.random(200), [str(i % 3 + 1) for i in range(200)], rng.normal(size=(200, 6))
    got = modules["probe_summary"].compute(predictions=p.tolist(), references=y.tolist(), positive_scores=s.tolist(),
                                           groups=groups, activations=act.tolist())  # fmt: skip
    want = probe_scores(y, p, positive_scores=s, groups=groups) | neuron_selectivity(act, y)
    assert got == want
    acc, bits = rng.random(8).tolist(), (1.9 + rng.random(8) * 0.1).tolist()
    got = modules["neuron_importance"].compute(accuracy=acc, bits_per_nt=bits, baseline_accuracy=0.5,
                                               baseline_bits_per_nt=1.92)  # fmt: skip
    want = importance_summary({"accuracy": 0.5, "bits_per_nt": 1.92},
                              [{"accuracy": a, "bits_per_nt": b} for a, b in zip(acc, bits, strict=True)])  # fmt: skip
    assert got == want


# ----------------------------------------------------------------------------- the tasks
@pytest.fixture(scope="module")
def oracle_run(rows: list[dict]) -> tuple[dict[str, Any], Any]:
    oracle = [(r["sequence"], (row_labels(r).frame > 0).astype(np.float32)) for r in rows]
    loaded = neighbour_model(oracle)
    return CodingProbe().run(None, "PRO", _ctx(rows, loaded, probe_nucleotides=1500)), loaded


def test_cds_probe_finds_the_coding_neuron(oracle_run: tuple[dict[str, Any], Any], rows: list[dict]) -> None:
    out, _ = oracle_run
    by = {b["layer"]: b for b in out["by_layer"]}
    assert list(by) == ["embed", "blocks.0", "blocks.1"]  # the oracle is written after the embedding
    for name in ("blocks.0", "blocks.1"):
        assert by[name]["best_neuron"] == {
            "index": ORACLE,
            "auroc": 1.0,
            "selectivity": 1.0,
            "class": "coding",
        }
        assert (
            by[name]["accuracy"] >= 0.97
            and by[name]["auroc"] >= 0.99
            and by[name]["n_selective_neurons"] >= 1
        )
    assert by["embed"]["accuracy"] < 0.8 and by["embed"]["best_neuron"]["index"] != ORACLE
    assert out["best_layer"] in ("blocks.0", "blocks.1")
    controls = out["controls"]
    assert controls["onehot"]["accuracy"] < 0.85
    ctrl = controls["control_task"]  # Hewitt & Liang (this double also encodes the 3-mer: partly memorised)
    assert ctrl["seeds"] == 5 and len(ctrl["accuracies"]) == 5 and ctrl["accuracy"] < out["accuracy"] - 0.2
    assert ctrl["selectivity_range"][0] <= ctrl["selectivity"] <= ctrl["selectivity_range"][1]
    assert controls["random_init"]["accuracy"] < 0.85  # a fresh copy has no oracle
    assert (
        set(out["genomes"]["train"]).isdisjoint(out["genomes"]["test"]) and len(out["genomes"]["test"]) == 1
    )
    assert out["notes"] and len(out["genomes"]["validation"]) == 1  # three genomes: one per role, said so
    assert out["n_train"] > 2 * out["n_test"] / 3 and out["chance"] == pytest.approx(0.5, abs=0.05)
    assert set(by["blocks.1"]["by_codon_position"]) == {"1", "2", "3", "non_coding"}
    assert "frame_strand" in by["blocks.1"] and "test" in out["splits"]
    assert by["blocks.1"]["frame_strand"]["chance_balanced_accuracy"] == pytest.approx(1 / 7)


def test_probe_sample_is_held_out_by_genome_and_deterministic(oracle_run: tuple, rows: list[dict]) -> None:
    from genobench_hf.tasks.probe_suite import ProbeSuite
    from genobench_hf.tasks.probes import CDS_SPEC, DEFAULTS

    opts = DEFAULTS | {"probe_nucleotides": 1500}
    tagged = [dict(r, split="test") for r in rows]
    suite = ProbeSuite(
        CDS_SPEC, tagged, opts, seed=0, dataset="PRO", window=64, batch_size=64, progress=False
    )
    for side in ("train", "validation", "test"):
        assert set(suite.parts[side].genomes) <= set(getattr(suite.split, side))
    assert set(suite.parts["train"].genomes).isdisjoint(suite.parts["test"].genomes)
    assert set(suite.parts["validation"].genomes).isdisjoint(suite.parts["test"].genomes)
    out, loaded = oracle_run
    assert CodingProbe().run(None, "PRO", _ctx(rows, loaded, probe_nucleotides=1500)) == out


def test_aa_probe_runs_with_controls(rows: list[dict]) -> None:
    out = AminoAcidProbe().run(None, "PRO", _ctx(rows, neighbour_model(), probe_nucleotides=2100,
                                                  probe_random_init=False))  # fmt: skip
    assert out["classes"] == list(AA_CLASSES) and len(out["by_layer"]) == 3
    layer = out["by_layer"][-1]
    assert set(layer["by_codon_position"]) == {"1", "2", "3"} and "codon_position" in layer
    assert layer["accuracy"] > 1.5 / 21  # the previous and next bases tell something about the codon
    assert "skipped" in out["controls"]["random_init"] and "model_minus_random_init" not in out["comparisons"]
    assert out["controls"]["control_task"]["kind"].endswith("(codon)")


def test_probe_tasks_skip_what_they_cannot_probe(rows: list[dict]) -> None:
    assert "Markov" in CodingProbe().run(None, "PRO", _ctx(rows, None))["skipped"]
    assert (
        "read datasets" in AminoAcidProbe().run(None, "PRO_reads", _ctx(rows, neighbour_model()))["skipped"]
    )
    one = [r for r in rows if r["genome_id"] == GENOMES[0][0]]
    assert "1 annotated genome" in CodingProbe().run(None, "PRO", _ctx(one, neighbour_model()))["skipped"]
    two = [r for r in rows if r["genome_id"] != GENOMES[0][0]]
    assert "probes need 3" in CodingProbe().run(None, "PRO", _ctx(two, neighbour_model()))["skipped"]
    with pytest.raises(ConfigError, match="unknown probe option"):
        CodingProbe().run(None, "PRO", _ctx(rows, neighbour_model(), probe_foo=1))
