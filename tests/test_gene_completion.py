"""gene_completion: the Evo 2 protocol (prompts, splicing, score), the shipped panel and published figures,
dataset genes, the causal and infill tasks end to end on tiny models."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from genobench_hf.data.fasta import reverse_complement
from genobench_hf.errors import ConfigError
from genobench_hf.gene_completion import panel as P
from genobench_hf.gene_completion import splice
from genobench_hf.metrics import amino_acid_recovery, gene_completion_metrics, gene_completion_summary
from genobench_hf.models import build_model, dna_char_tokenizer
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.scoring.markov import MarkovModel, MarkovScorer
from genobench_hf.scoring.masked import MaskedLMScorer
from genobench_hf.tasks import TaskConfig, get_task
from genobench_hf.tasks import gene_completion as task_module
from genobench_hf.tasks.gene_cases import UPSTREAM, dataset_cases
from genobench_hf.testing_context import MemoryContext

needs_exonerate = pytest.mark.skipif(shutil.which("exonerate") is None, reason="exonerate is not installed")


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _random_dna(n: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), size=n))


# ----------------------------------------------------------------------------- the score
def test_recovery_counts_identical_residues_beyond_the_prompt() -> None:
    ref = "MDSIVGDAIDEAEAEDMGDESAQVDGAANINRSGTMTDDELKAVLKDLQ"
    assert amino_acid_recovery(ref, ref, 10) == 100.0
    assert amino_acid_recovery("", ref, 10) == 0.0
    assert amino_acid_recovery(ref[:30], ref, 10) == pytest.approx(100 * 20 / 39)  # a short protein: no bonus
    wrong_prompt = "W" * 10 + ref[10:]
    assert amino_acid_recovery(wrong_prompt, ref, 10) == 100.0  # the prompt's residues are not scored
    one_sub = ref[:20] + "W" + ref[21:]
    assert amino_acid_recovery(one_sub, ref, 10) == pytest.approx(100 * 38 / 39)
    insertion = ref[:25] + "WWW" + ref[25:]  # the global alignment places the insertion; nothing is lost
    assert amino_acid_recovery(insertion, ref, 10) == 100.0
    assert amino_acid_recovery(ref, ref, 10, 20) == 100.0
    with pytest.raises(ConfigError, match="do not lie inside"):
        amino_acid_recovery(ref, ref, 10, 99)


def test_summary_is_the_mean_of_per_gene_means_with_sem() -> None:
    out = gene_completion_summary({"a": [10.0, 20.0, 30.0], "b": [100.0]}, {"a": "p1", "b": "p2"})
    assert out["per_gene"]["a"]["mean"] == 20.0
    assert out["per_gene"]["a"]["sem"] == pytest.approx(10 / np.sqrt(3))
    assert out["per_gene"]["b"]["sem"] is None
    assert out["mean"] == 60.0  # not the pooled 40
    assert out["panels"] == {"p1": {"n_genes": 1, "mean": 20.0}, "p2": {"n_genes": 1, "mean": 100.0}}
    rows = gene_completion_metrics(["MKVLA", "MKVLW"], ["MKVLA", "MKVLA"], ["g", "g"], starts=[2, 2])
    assert rows["recoveries"] == pytest.approx([100.0, 200 / 3])
    with pytest.raises(ConfigError, match="one entry per prediction"):
        gene_completion_metrics(["MK"], ["MK", "MK"], ["g"])
    with pytest.raises(ConfigError, match="--generations"):
        TaskConfig(n_generations=0)


def test_evaluate_module_matches_the_library(repo_root: Path) -> None:
    assert os.environ.get("HF_EVALUATE_OFFLINE") == "1"
    import evaluate

    module = evaluate.load(str(repo_root / "metrics" / "gene_completion"))
    kwargs = {
        "predictions": ["MKVLAE", "MKVLWE", "MSTA", ""],
        "references": ["MKVLAE", "MKVLAE", "MSTAY", "MSTAY"],
        "genes": ["a", "a", "b", "b"],
        "starts": [2, 2, 1, 1],
        "panels": ["p", "p", "q", "q"],
    }
    got = module.compute(**kwargs)
    want = gene_completion_metrics(
        kwargs["predictions"],
        kwargs["references"],
        kwargs["genes"],
        starts=kwargs["starts"],
        panels=kwargs["panels"],
    )
    assert got == want
    assert got["per_gene"]["b"]["mean"] == pytest.approx(100 * 3 / 8)


# ----------------------------------------------------------------------------- the shipped panel
def test_published_figures_are_consistent_with_their_summary() -> None:
    pub = P.published()
    assert set(pub) == {"evo2_1b_base", "evo2_7b", "evo2_20b", "evo2_40b"}
    for row in pub.values():
        genes = row["per_gene"]
        assert len(genes) == 12
        assert np.mean([g["mean"] for g in genes.values()]) == pytest.approx(row["overall"], abs=0.01)
        pro = [g["mean"] for g in genes.values() if g["panel"] == "evo2_prokaryote"]
        assert np.mean(pro) == pytest.approx(row["panels"]["evo2_prokaryote"], abs=0.01)
    assert pub["evo2_40b"]["overall"] == pytest.approx(86.21)


def test_prokaryote_prompts_follow_the_published_protocol() -> None:
    raw = {r["gene"]: r for r in P._rows("data_prokaryote_genes.csv")}
    cases = P.evo2_panel("prokaryote")
    assert [c.gene for c in cases] == ["ftsZ", "secY", "dnaK", "gyrA"]
    for case in cases:
        genomic, cds_start = raw[case.gene]["genomic_sequence"], int(raw[case.gene]["cds_start"])
        codons = (len(genomic) - cds_start) // 3
        n_prompt = round(codons * 0.30)
        assert case.prompt == genomic[cds_start - 1000 : cds_start + 3 * n_prompt]
        assert case.truth == genomic[cds_start + 3 * n_prompt :]
        assert case.scored == (n_prompt, len(case.reference)) and not case.reference.endswith("*")
        truth, noise = P.predicted_proteins(case, [case.truth, _random_dna(case.n_new, 1)])
        assert amino_acid_recovery(truth, case.reference, *case.scored) == 100.0
        assert amino_acid_recovery(noise, case.reference, *case.scored) < 20.0
    assert P.TEMPERATURE == {"prokaryote": 0.7, "eukaryote": 1.0} and P.TOP_K == 4 and P.N_GENERATIONS == 50


@needs_exonerate
def test_eukaryote_prompts_are_spliced_with_exonerate() -> None:
    cases = P.evo2_panel("eukaryote")
    assert len(cases) == 8
    for case in cases:
        assert case.prompt_length == int(len(case.window) * 0.30)
        truth, noise = P.predicted_proteins(case, [case.truth, _random_dna(case.n_new, 2)])
        assert amino_acid_recovery(truth, case.reference, *case.scored) == 100.0
        assert amino_acid_recovery(noise, case.reference, *case.scored) < 20.0
    by = {c.gene: c for c in cases}
    assert by["PGK1"].scored == (0, 208)  # the window ends inside PGK1: 208 of 416 residues are encoded
    assert by["RPS15"].scored == (1, 97)


def test_missing_exonerate_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(splice.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="apt-get install exonerate") as err:
        splice.splice_one("MKV", "ATGAAAGTT")
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- dataset genes
def _dnak_rows() -> tuple[dict, dict]:
    r = next(r for r in P._rows("data_prokaryote_genes.csv") if r["gene"] == "dnaK")
    seq, start = r["genomic_sequence"], int(r["cds_start"])
    cds = {"start": start, "end": len(seq), "strand": "+", "phase": 0, "gene_id": "dnaK",
           "transl_table": 11, "translation_ok": True}  # fmt: skip
    plus = {"genome_id": "Ecoli", "sequence": seq, "cds": [cds], "chunk_start": 0, "genetic_code": 11}
    rc = reverse_complement(seq)
    minus = dict(plus, sequence=rc, cds=[dict(cds, start=0, end=len(seq) - start, strand="-")])
    return plus, minus


def test_dataset_genes_take_the_upstream_on_either_strand() -> None:
    plus, minus = _dnak_rows()
    ref = next(c for c in P.evo2_panel("prokaryote") if c.gene == "dnaK")
    for row in (plus, minus):
        cases, dropped = dataset_cases([row], dataset="PRO", protocol="prokaryote", n_genes=3, seed=0)
        assert len(cases) == 1 and dropped == 0
        (case,) = cases
        assert case.window == ref.window[-(UPSTREAM + 1917) :] and case.reference == ref.reference
        assert case.prompt_length == ref.prompt_length and case.scored == ref.scored
    no_room = dict(plus, sequence=plus["sequence"][4500:], cds=[dict(plus["cds"][0], start=500)])
    assert dataset_cases([no_room], dataset="PRO", protocol="prokaryote", n_genes=3, seed=0)[0] == []


@needs_exonerate
def test_spliced_dataset_genes_use_the_eukaryote_protocol() -> None:
    r = next(r for r in P._rows("data_eukaryote_genes.csv") if r["gene"] == "CYC1")
    segments = [(5000, 5043), (5154, 5222), (5402, 5459)]  # CYC1's exons in the window (exonerate's vulgar)
    cds = [{"start": s, "end": e, "strand": "+", "phase": 0, "gene_id": "CYC1", "transl_table": 1,
            "translation_ok": True} for s, e in segments]  # fmt: skip
    row = {"genome_id": "Creinhardtii", "sequence": r["genomic_sequence"], "cds": cds, "chunk_start": 0}
    (case,), dropped = dataset_cases([row], dataset="EUK", protocol="eukaryote", n_genes=2, seed=0)
    assert dropped == 0 and case.protocol == "eukaryote"
    assert case.reference == r["reference_protein"][:56]
    assert case.window == r["genomic_sequence"][5000 - UPSTREAM : 5459]
    (truth,) = P.predicted_proteins(case, [case.truth])
    assert amino_acid_recovery(truth, case.reference, *case.scored) == 100.0


# ----------------------------------------------------------------------------- the tasks end to end
def _context(tmp_path: Path, rows: dict, baselines: dict | None = None, n_generations: int = 2):  # type: ignore[no-untyped-def]
    task = TaskConfig(n_generations=n_generations, n_genes=2, seed=0)
    config = SimpleNamespace(task=task, batch_size=8)
    return MemoryContext(
        lambda d, split: rows.get(d, []), config, baselines_by=baselines or {}, cache_dir=tmp_path
    )


def _lstm() -> CausalLMScorer:
    torch.manual_seed(0)
    return CausalLMScorer(wrap_model(build_model("lstm"), dna_char_tokenizer(True), name="tiny-lstm"))


@pytest.fixture
def one_gene_panel(monkeypatch: pytest.MonkeyPatch) -> None:
    full = P.evo2_panel
    monkeypatch.setattr(task_module, "evo2_panel", lambda protocol: full(protocol)[:1])


def test_gene_completion_task_runs_with_baselines_and_resumes(tmp_path: Path, one_gene_panel: None) -> None:
    plus, _ = _dnak_rows()
    chain = MarkovScorer(MarkovModel.fit([plus["sequence"]], 3))
    ctx = _context(tmp_path, {"PRO": [plus]}, baselines={"markov": chain})
    task = get_task("gene_completion")
    out = task.run(_lstm(), "PRO", ctx)
    assert out["variant"] == "causal" and out["generation_mode"] == "state"
    assert out["sampling"] == {"temperature": 0.7, "top_k": 4} and out["n_generations"] == 2
    gene = out["evo2_panel"]["per_gene"]["evo2:ftsZ"]
    assert gene["n"] == 2 and len(gene["recoveries"]) == 2 and 0 <= gene["mean"] <= 100
    assert out["aa_recovery"] == out["evo2_panel"]["mean"] and out["aa_recovery_source"] == "evo2_panel"
    assert out["dataset_genes"]["n_genes"] == 1
    assert set(out["baselines"]) == {"markov", "chance"}
    assert out["baselines"]["chance"]["evo2_panel"]["mean"] < 30
    assert task.run(_lstm(), "PRO", ctx) == out  # served from the chunk cache, bit for bit
    summary = task.summarise({"PRO": out, "PRO_reads": task.run(_lstm(), "PRO_reads", ctx)})
    assert summary["mean_aa_recovery"] == out["evo2_panel"]["mean"] and not summary["complete_panel"]
    assert summary["published"]["evo2_40b"]["overall"] == pytest.approx(86.21)
    assert set(summary["baselines"]) == {"markov", "chance"} and summary["skipped"] == ["PRO_reads"]
    _check_report(tmp_path, {"PRO": out}, summary, out["evo2_panel"]["per_gene"]["evo2:ftsZ"]["mean"])


def _check_report(tmp_path: Path, per_dataset: dict, summary: dict, ftsz: float) -> None:
    """The report shows the scored model, its reference rows and the published Evo 2 rows, labelled."""
    from genobench_hf.report import build_report
    from genobench_hf.results import new_results, write_results

    doc = new_results({"model": "tiny-lstm", "tasks": ["gene_completion"]}, {})
    doc["results"]["gene_completion"], doc["summaries"]["gene_completion"] = per_dataset, summary
    path = write_results(doc, tmp_path / "results.json")
    md = build_report([path], tmp_path / "report").markdown.read_text(encoding="utf-8")
    section = md[md.index("## Gene completion") :]
    section = section[: section.index("\n## ", 5)]
    assert "| *Evo 2 40B (published)* | 92.0 | 83.3 | 86.2 (paper 86.9) |" in section
    assert "| *Evo 2 40B (published)* | 92.3 ± 0.4 |\n" in section  # ftsZ: the only gene run here
    assert "they were not measured by genobench" in section
    assert "*markov baseline*" in section and "*chance baseline*" in section
    assert f"| {ftsz:.1f} ± " in section.split("gene_completion: per gene")[1]


def test_protocols_are_never_mixed(tmp_path: Path, one_gene_panel: None) -> None:
    tok_model = build_model("transformer", "mlm")
    masked = MaskedLMScorer(wrap_model(tok_model, dna_char_tokenizer(False), name="tiny-mlm"))
    ctx = _context(tmp_path, {}, n_generations=1)
    assert "skipped" in get_task("gene_completion").run(masked, "PRO", ctx)
    assert "skipped" in get_task("gene_completion_infill").run(_lstm(), "PRO", ctx)
    out = get_task("gene_completion_infill").run(masked, "PRO", ctx)
    assert out["variant"] == "infill" and out["generation_mode"] == "iterative"
    assert 0 <= out["evo2_panel"]["per_gene"]["evo2:ftsZ"]["mean"] <= 100


def test_eukaryote_task_needs_exonerate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(splice.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="exonerate"):
        get_task("gene_completion").run(_lstm(), "EUK", _context(tmp_path, {}))


def test_a_gene_longer_than_the_context_is_skipped_before_generating(
    tmp_path: Path, one_gene_panel: None
) -> None:
    from genobench_hf import testing as T

    tok = T.char_tokenizer(causal=True)
    short = CausalLMScorer(wrap_model(T.tiny_causal_lm(tok, n_positions=512), tok, name="gpt2-512"))
    out = get_task("gene_completion").run(short, "PRO", _context(tmp_path, {}, n_generations=1))
    gene = out["evo2_panel"]["per_gene"]["evo2:ftsZ"]
    assert "at most 512 tokens" in gene["skipped"] and "recoveries" in gene and not gene["recoveries"]
    assert out["aa_recovery"] is None and out["generation_mode"] == "kv"
    assert out["baselines"]["chance"]["evo2_panel"]["per_gene"]["evo2:ftsZ"]["n"] == 1
    assert len(list((tmp_path / "generation").glob("*/chunk-*"))) == 1  # the chance row's: none for the model


def test_gene_records_hold_each_genes_recoveries_and_pair_by_gene(
    tmp_path: Path, one_gene_panel: None
) -> None:
    """Per-gene records (GeneLog) of the model only, keyed by case (never the model), and compare pairs them."""
    from datasets import load_dataset

    from genobench_hf.compare import compare_cells, record_cells
    from genobench_hf.site_records import GENE_KEY, GeneLog

    plus, _ = _dnak_rows()
    chain = MarkovScorer(MarkovModel.fit([plus["sequence"]], 3))
    logs = []
    outs = []
    for seed in (0, 1):
        ctx = _context(tmp_path / str(seed), {"PRO": [plus]}, baselines={"markov": chain})
        log = GeneLog()
        ctx.record_genes = log.add
        torch.manual_seed(seed)
        model = CausalLMScorer(wrap_model(build_model("lstm"), dna_char_tokenizer(True), name=f"lstm-{seed}"))
        outs.append(get_task("gene_completion").run(model, "PRO", ctx))
        logs.append(log)
    docs = []
    for seed, (log, out) in enumerate(zip(logs, outs, strict=True)):
        assert len(log) == out["evo2_panel"]["n_genes"] + out["dataset_genes"]["n_genes"]  # no baseline rows
        ref = log.write(tmp_path / f"m{seed}.genes.parquet")
        assert ref["key"] == list(GENE_KEY)
        docs.append((tmp_path / f"m{seed}.json", {"gene_records": ref}))
    ds = load_dataset("parquet", data_files=str(tmp_path / "m0.genes.parquet"), split="train")
    row = next(r for r in ds if r["case"] == "evo2:ftsZ")
    gene = outs[0]["evo2_panel"]["per_gene"]["evo2:ftsZ"]
    assert row["recoveries"] == pytest.approx(gene["recoveries"]) and row["mean_recovery"] == pytest.approx(
        gene["mean"]
    )
    assert row["headline"] and row["part"] == "evo2_panel" and row["n_generations"] == 2
    cells = [record_cells(p, d) for p, d in docs]
    assert set(cells[0]) == {("gene_completion", "PRO"), ("gene_completion.dataset_genes", "PRO")}
    result = compare_cells(cells, ["lstm-0", "lstm-1"], n_bootstrap=50)
    head = next(c for c in result["cells"] if c["task"] == "gene_completion")
    assert head["score"] == "aa_recovery" and head["higher_is_better"] and head["unit"] == "genes"
    scores = {m["model"]: m["score"] for m in head["models"]}
    assert scores == pytest.approx({"lstm-0": outs[0]["aa_recovery"], "lstm-1": outs[1]["aa_recovery"]})
    assert head["models"][1]["vs_reference"]["difference"] == pytest.approx(
        scores["lstm-1"] - scores["lstm-0"]
    )
