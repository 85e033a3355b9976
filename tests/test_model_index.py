"""``genobench export-model-index``: results files -> Hub model-index in a model card, checked by re-parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from huggingface_hub import EvalResult, ModelCard

from genobench_hf.cli import main
from genobench_hf.errors import InputError
from genobench_hf.report.model_index import export_model_index

FIXTURES = Path(__file__).parent / "fixtures" / "results"
CAUSAL = FIXTURES / "bpe-causal-7M.json"
MASKED = FIXTURES / "char-mlm-50M.json"
KEY_OF_TYPE = {"bits_per_nucleotide": "bits_per_nt"}

EXISTING_CARD = """---
license: apache-2.0
language:
- en
tags:
- dna
- genomics
library_name: transformers
pipeline_tag: fill-mask
model-index:
- name: my-dna-model
  results:
  - task:
      type: fill-mask
      name: masked nucleotide prediction
    dataset:
      name: genobench PRO
      type: PRO
      split: validation
    metrics:
    - type: bits_per_nucleotide
      value: 1.5
      name: validation bits per nucleotide
  - task:
      type: text-classification
    dataset:
      name: Promoters
      type: someone/promoters
    metrics:
    - type: f1
      value: 0.8
    source:
      name: Other leaderboard
      url: https://example.org/leaderboard
---

# My DNA model

Some prose that must survive, with a table:

| a | b |
|---|---|
| 1 | 2 |
"""


def _reparse(card_path: Path) -> ModelCard:
    return ModelCard.load(card_path)


def _genobench_rows(card: ModelCard) -> list[EvalResult]:
    """Rows whose task name is a task of the results files (the foreign rows have other names)."""
    tasks = set(json.loads(MASKED.read_text())["results"]) | set(json.loads(CAUSAL.read_text())["results"])
    return [r for r in card.data.eval_results or [] if r.task_name in tasks]


def _check_against_json(rows: list[EvalResult], results_path: Path) -> None:
    doc = json.loads(results_path.read_text())
    assert rows
    pairs = set()
    for row in rows:
        entry = doc["results"][row.task_name][row.dataset_name]
        assert "skipped" not in entry
        assert row.metric_value == entry[KEY_OF_TYPE.get(row.metric_type, row.metric_type)]
        assert row.dataset_revision == doc["config"]["dataset_fingerprints"][row.dataset_name]
        assert row.dataset_split == "test"
        pairs.add((row.task_name, row.dataset_name))
    for task, per_dataset in doc["results"].items():
        for dataset, entry in per_dataset.items():
            if "skipped" in entry:
                assert (task, dataset) not in pairs, f"skipped {task}/{dataset} was exported"
            elif isinstance(entry.get("bits_per_nt"), float):
                assert (task, dataset) in pairs, f"{task}/{dataset} is missing"


def _results_per_pair(card: ModelCard) -> list[tuple[str, str]]:
    """(task name, dataset name) of each model-index result as written in the YAML."""
    index = card.data.to_dict()["model-index"]
    assert len(index) == 1
    return [(r["task"].get("name"), r["dataset"]["name"]) for r in index[0]["results"]]


def test_new_card_from_fixture(tmp_path: Path) -> None:
    card_path = tmp_path / "model" / "README.md"
    written = export_model_index(MASKED, card_path, dataset_org="genobench-org")
    card = _reparse(card_path)
    back = card.data.eval_results
    assert back and back == written
    _check_against_json(back, MASKED)
    assert card.data.model_name == "fixture/char-mlm-50M"
    pairs = _results_per_pair(card)
    assert len(pairs) == len(set(pairs))  # one result per (task, dataset)
    imputation_pro = [r for r in back if (r.task_name, r.dataset_name) == ("imputation", "PRO")]
    assert {r.metric_type for r in imputation_pro} == {"bits_per_nucleotide", "accuracy"}
    assert imputation_pro[0].metric_name == "bits per nucleotide"  # the main score comes first
    assert imputation_pro[0].task_type == "fill-mask"
    assert imputation_pro[0].dataset_type == "genobench-org/genobench-PRO"
    span = [r for r in back if r.task_name == "span_imputation"]
    assert span and {r.metric_type for r in span} == {"identity"}
    assert ("span_imputation", "PRO_reads") not in pairs  # skipped in the fixture


def test_existing_card_is_preserved_and_rerun_replaces(tmp_path: Path) -> None:
    card_path = tmp_path / "README.md"
    card_path.write_text(EXISTING_CARD, encoding="utf-8")
    before = _reparse(card_path)
    foreign = list(before.data.eval_results)

    export_model_index(CAUSAL, card_path)
    card = _reparse(card_path)
    assert card.text == before.text
    for key in ("license", "language", "tags", "library_name", "pipeline_tag"):
        assert getattr(card.data, key) == getattr(before.data, key)
    assert card.data.model_name == "my-dna-model"
    rows = _genobench_rows(card)
    _check_against_json(rows, CAUSAL)
    assert [r for r in card.data.eval_results if r not in rows] == foreign
    assert not [r for r in rows if r.task_name == "imputation_dense"]  # skipped for the causal LM
    first_count = len(card.data.eval_results)

    export_model_index(CAUSAL, card_path)  # the same file again: nothing is duplicated
    again = _reparse(card_path)
    assert again.data.eval_results == card.data.eval_results
    assert len(again.data.eval_results) == first_count

    export_model_index(MASKED, card_path, model_name="renamed", dataset_org="org")  # another run replaces
    third = _reparse(card_path)
    rows = _genobench_rows(third)
    _check_against_json(rows, MASKED)
    assert {r.dataset_type for r in rows} <= {
        f"org/genobench-{d}" for d in ("PRO", "EUK", "VIR", "PRO_reads")
    }
    assert [r for r in third.data.eval_results if r not in rows] == foreign
    assert third.data.model_name == "renamed"
    assert third.text == before.text
    pairs = _results_per_pair(third)
    assert len(pairs) == len(set(pairs))


def test_cli_writes_and_dry_run_does_not(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    card_path = tmp_path / "README.md"
    args = ["export-model-index", str(CAUSAL), "--model-card", str(card_path), "--model-name", "m"]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "model-index:" in out and "would write" in out and "left out imputation_dense/PRO" in out
    assert not card_path.exists()
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    card = _reparse(card_path)
    assert card.data.model_name == "m"
    _check_against_json(card.data.eval_results, CAUSAL)
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary card was renamed into place


def test_old_schema_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(CAUSAL.read_text())
    doc["schema_version"] = "0.3"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    card_path = tmp_path / "README.md"
    card_path.write_text(EXISTING_CARD, encoding="utf-8")
    assert main(["export-model-index", str(old), "--model-card", str(card_path)]) == 2
    err = capsys.readouterr().err
    assert "schema_version 0.3 is not supported" in err and "Traceback" not in err
    assert card_path.read_text(encoding="utf-8") == EXISTING_CARD
    with pytest.raises(InputError, match="schema_version"):
        export_model_index(old, tmp_path / "new.md")
    assert not (tmp_path / "new.md").exists()


def test_malformed_card_metadata_is_a_clear_error(tmp_path: Path) -> None:
    card_path = tmp_path / "README.md"
    card_path.write_text(
        "---\nmodel-index:\n- name: x\n  results: [{task: {}}]\n---\ntext\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="model card metadata"):
        export_model_index(CAUSAL, card_path)
