"""Split rules beyond taxon-disjointness: genomes with strains stay out of train (the conservation task
scores them), and evaluation-only builds for folders too small to split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from genobench_hf import testing as T
from genobench_hf.cli import main
from genobench_hf.data.conservation import strains_for
from genobench_hf.data.splits import assign_splits, verify_splits
from genobench_hf.data.taxonomy import GenomeEntry, embedded_corpus_dir, load_corpus, load_strains
from genobench_hf.errors import ConfigError, InputError
from genobench_hf.tasks import TaskConfig

CORPUS = embedded_corpus_dir()


def genus(gid: str, name: str) -> GenomeEntry:
    """A genome of its own genus (one phylum for all, so none is rare)."""
    path = Path(f"EUK/{gid}.fna")
    return GenomeEntry(
        gid, str(path), path, "EUK", "D", "P", "c", f"o{name}", "f", name, f"{name} sp", "-", 1
    )


def test_genomes_with_strains_never_go_to_train() -> None:
    entries = [genus(f"g{i}", f"Genus{i}") for i in range(5)]
    bases = {e.genome_id: 10**6 * (5 - i) for i, e in enumerate(entries)}  # g0 is the largest
    assert assign_splits(entries, bases, {}).assignment["g0"] == "train"  # what the greedy rule does
    report = assign_splits(entries, bases, {}, held_out={"g0"})
    assert report.assignment["g0"] in ("validation", "test")
    assert all(report.table["EUK"][s][0] for s in ("train", "validation", "test"))
    assert report.held_out == {"EUK": ["g0"]} and "Kept out of train" in report.to_markdown("EUK")
    with pytest.raises(InputError, match="has strains"):
        verify_splits(entries, {**report.assignment, "g0": "train"}, bases, held_out={"g0"})
    # the last group that may train is forced there while train is still empty
    report = assign_splits(entries[:3], bases, {}, held_out={"g0", "g2"})
    assert report.assignment["g1"] == "train"
    with pytest.raises(InputError, match="every taxon group holds a genome with strains"):
        assign_splits(entries[:3], bases, {}, held_out={"g0", "g1", "g2"})


def test_embedded_corpus_keeps_its_strain_genomes_out_of_train(built_corpus) -> None:
    out, summary = built_corpus
    strains = load_strains(CORPUS)
    with_strains = [e.genome_id for e in load_corpus(CORPUS) if strains_for(e, strains)]
    assert sorted(with_strains) == ["Helicobacter_pylori_G27", "Staphylococcus_aureus_N315"]
    assert {summary.report.assignment[g] for g in with_strains} <= {"validation", "test", "rare"}
    # --no-conservation (this build) gives the same splits: the rule does not depend on the alignment
    assert summary.report.held_out == {"PRO": sorted(with_strains)}
    assert "Kept out of train" in (out / "PRO" / "README.md").read_text()


@pytest.mark.slow  # needs the conservation columns (strain alignment, cached after the first run)
def test_conservation_scores_no_training_genome_of_the_embedded_corpus(
    built_pro_with_conservation, tmp_path: Path
) -> None:
    data, summary = built_pro_with_conservation
    output = tmp_path / "cons.json"
    code = main(["evaluate", "--model", "markov:2", "--tasks", "conservation", "--datasets", "PRO",
                 "--data-dir", str(data), "--output", str(output), "--n-sites", "200", "--n-bootstrap", "0",
                 "--quiet"])  # fmt: skip
    assert code == 0
    result = json.loads(output.read_text())["results"]["conservation"]["PRO"]
    scored = result["genomes_scored"]
    assert set(scored) == {"Helicobacter_pylori_G27", "Staphylococcus_aureus_N315"}
    assert all(summary.report.assignment[g] == split != "train" for g, split in scored.items())
    assert all(g["in_training"] is False for g in result["by_genome"].values())


# --------------------------------------------------------------------------- evaluation-only builds
def _homo_folder(root: Path) -> Path:
    """The corpus's two H. sapiens pieces: real EUK genomes of a single genus (cannot be split)."""
    rows = {line.split("\t")[0]: line for line in (CORPUS / "TAXONOMY.tsv").read_text().splitlines()}
    table = [rows["file"]]
    (root / "EUK").mkdir(parents=True)
    for name in ("Homo_sapiens_chr1_fragment_330kb", "Homo_sapiens_TPA_unplaced_scaffolds_1Mb"):
        shutil.copy(CORPUS / "EUK" / f"{name}.fna.gz", root / "EUK")
        table.append(rows[f"EUK/{name}.fna.gz"])
    (root / "TAXONOMY.tsv").write_text("\n".join(table) + "\n")
    return root


def test_a_folder_too_small_to_split_builds_for_evaluation_only_and_a_model_scores_it(
    tmp_path: Path, capsys
) -> None:
    src = _homo_folder(tmp_path / "src")
    out = tmp_path / "out"
    argv = ["datasets", "build", "--source", str(src), "--out", str(out), "--names", "EUK", "EUK_reads",
            "--reads-per-genome", "20", "--quiet"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "kingdom EUK has 1 taxon group(s)" in err and "--evaluation-only" in err
    assert main([*argv, "--evaluation-only"]) == 0
    printed = capsys.readouterr().out
    assert "Evaluation-only build" in printed
    for name in ("EUK", "EUK_reads"):
        assert sorted(p.name.split("-")[0] for p in (out / name / "data").iterdir()) == ["test"]
        assert "Evaluation-only build: every genome is in `test`" in (out / name / "README.md").read_text()

    model = tmp_path / "tiny"
    tokenizer = T.char_tokenizer()
    T.tiny_masked_lm(tokenizer, seed=0).save_pretrained(model)
    tokenizer.save_pretrained(model)
    results = tmp_path / "r.json"
    code = main(["evaluate", "--model", str(model), "--data-dir", str(out), "--datasets", "EUK,EUK_reads",
                 "--tasks", "imputation", "--limit", "30", "--n-bootstrap", "0", "--baseline", "none",
                 "--output", str(results), "--quiet"])  # fmt: skip
    assert code == 0
    scores = json.loads(results.read_text())["results"]["imputation"]
    assert scores["EUK"]["n_scored"] == scores["EUK_reads"]["n_scored"] == 30
    assert scores["EUK"]["split"] == "test" and len(scores["EUK"]["per_genome"]) == 2
    # a Markov chain cannot be fitted on it: a clear error that says what to do
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--data-dir", str(out), "--datasets", "EUK",
                 "--tasks", "imputation", "--limit", "5", "--output", str(results), "--quiet"]) == 2  # fmt: skip
    assert "--baseline none" in capsys.readouterr().err


def test_no_task_scores_the_train_split(capsys) -> None:
    with pytest.raises(ConfigError, match="--split train"):
        TaskConfig(split="train")
    assert main(["evaluate", "--model", "markov:2", "--split", "train", "--quiet"]) == 2
    assert "fitted on it" in capsys.readouterr().err
