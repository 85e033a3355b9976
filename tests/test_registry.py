"""Known-model registry: typed entries, `genobench models`, the generated README table, name
resolution, remote-code refusal, and one tiny offline replica per family through `genobench evaluate`
(same architecture class and tokenizer kind; nothing is downloaded)."""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from genobench_hf.cli import main
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.registry import (
    KINGDOM_NAMES,
    ModelEntry,
    available_models,
    find_model,
    get_model,
    markdown_table,
    register_model,
    resolve_model,
    unregister_model,
)
from genobench_hf.registry import tokenizers as PT
from genobench_hf.registry.table import extract_block
from genobench_hf.testing import bpe_tokenizer, char_tokenizer, kmer_tokenizer, tiny_masked_lm

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "remote_code_model"


# ----------------------------------------------------------------------------- entries and table
def test_builtin_entries_are_complete_and_typed() -> None:
    entries = available_models()
    families = {e.family for e in entries.values()}
    for fam in ("Nucleotide Transformer v1", "Nucleotide Transformer v2", "DNABERT-1", "DNABERT-2", "GROVER",
                "GENA-LM", "HyenaDNA", "Caduceus", "GPN", "Genomic ULMFiT", "GUANinE T5", "Evo 2"):  # fmt: skip
        assert fam in families
    assert {f"dnabert-{k}" for k in (3, 4, 5, 6)} <= set(entries)
    for e in entries.values():
        assert dataclasses.is_dataclass(e) and e.training_kingdoms <= set(KINGDOM_NAMES)
        assert e.sources and e.citation and e.offline_note
        assert e.revision is None  # no card states a revision: "main at evaluation time"
        json.dumps(e.to_dict())
        with pytest.raises(dataclasses.FrozenInstanceError):
            e.name = "x"  # type: ignore[misc]
    assert get_model("nt-v2-50m-multi-species").trained_on() == "EUK+PRO"
    assert (
        get_model("dnabert-6").tokenizer == "kmer:6:1"
        and get_model("dnabert-6").scoring_path == "masked.kmer"
    )
    assert get_model("dnabert-2-117m").approximate and get_model("dnabert-2-117m").trust_remote_code
    assert get_model("hyenadna-tiny-1k").scoring_path == "causal.left + causal.bayes"
    assert get_model("guanine-t5").scoring_path == "seq2seq.candidate"
    assert get_model("genomic-ulmfit-bacteria-5m2s").tokenizer == "kmer:5:2"
    evo = get_model("evo2-40b")
    assert evo.external and evo.hub_id is None and evo.parameters == 40_000_000_000


def test_external_reference_lists_published_figures_and_refuses_scoring() -> None:
    from genobench_hf.registry import published_results

    rows = {r["model"]: r for r in published_results(get_model("evo2-1b-base"))}
    assert rows["evo2_40b"]["overall_mean_aa_recovery"] == "86.21"  # the published panel summary
    assert rows["evo2_1b_base"]["paper_reported"] == "55.2"
    with pytest.raises(ConfigError, match="external reference"):
        resolve_model("evo2-7b")


def test_lookup_by_name_or_hub_id_and_close_matches() -> None:
    assert (
        find_model("InstaDeepAI/nucleotide-transformer-v2-50m-multi-species").name
        == "nt-v2-50m-multi-species"
    )
    assert find_model("NT-V2-50M-MULTI-SPECIES") is get_model("nt-v2-50m-multi-species")
    with pytest.raises(ConfigError, match=r"did you mean.*dnabert-6"):
        get_model("dnabert6")
    with pytest.raises(ConfigError, match="already registered"):
        register_model(get_model("grover"))
    with pytest.raises(ConfigError, match="kingdoms"):
        dataclasses.replace(get_model("grover"), name="x", training_kingdoms=frozenset({"PLANTS"}))
    with pytest.raises(ConfigError, match="tokenizer kind"):
        dataclasses.replace(get_model("grover"), name="x", tokenizer="sentencepiece")


def test_generated_table_matches_docs_and_readme() -> None:
    table = markdown_table()
    assert table.count("\n| ") == len(available_models()) + 1
    docs = extract_block((REPO / "docs" / "MODELS.md").read_text())
    assert docs == table, "docs/MODELS.md is stale: paste `genobench models --markdown` between the markers"
    readme = REPO / "README.md"
    block = extract_block(readme.read_text()) if readme.exists() else None
    if block is None:
        pytest.skip("README.md has no <!-- MODELS:START --> / <!-- MODELS:END --> block yet")
    assert block == table, "README.md's model table is stale: paste `genobench models --markdown`"


def test_models_command(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["models", "--markdown"]) == 0
    assert capsys.readouterr().out.strip() == markdown_table()
    assert main(["models", "--json", "--family", "caduceus"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["family"] for r in rows} == {"Caduceus"} and rows[0]["training_kingdoms"] == ["EUK"]
    assert main(["models"]) == 0
    assert "hyenadna-tiny-1k" in capsys.readouterr().out
    assert main(["models", "--family", "nope"]) == 2


def test_resolution_rules() -> None:
    r = resolve_model("grover")
    assert (r.spec, r.model_kind, r.tokenizer_kind, r.revision) == (
        "PoetschLab/GROVER",
        "masked",
        "bpe",
        None,
    )
    assert resolve_model("grover", tokenizer_kind="char", model_kind="causal").tokenizer_kind == "char"
    assert resolve_model("someone/unregistered-dna-lm").entry is None  # Hub ids pass through
    with pytest.raises(ConfigError, match="did you mean"):
        resolve_model("grovr")
    with pytest.raises(ModelError, match="--trust-remote-code"):
        resolve_model("dnabert-2-117m")
    assert resolve_model("dnabert-2-117m", trust_remote_code=True).spec == "zhihan1996/DNABERT-2-117M"
    with pytest.raises(ConfigError, match="no transformers checkpoint"):
        resolve_model("genomic-ulmfit-bacteria-5m2s")
    with pytest.raises(ModelError, match="'nopkg' package"):  # a missing package is named, with the extra
        resolve_model(register_model(dataclasses.replace(
            get_model("gpn-brassicales"), name="test-missing-package", import_module="nopkg.model:register"
        )).name)  # fmt: skip
    unregister_model("test-missing-package")


# ----------------------------------------------------------------------------- offline replicas
@functools.cache
def data_dir() -> Path:
    from genobench_hf.data.build import build_all

    out = Path(tempfile.mkdtemp(prefix="genobench-registry-data-"))
    build_all(out, reads_per_genome=20, names=("VIR",), conservation=False, progress=False)
    return out


def evaluate(model: str, out: Path, *extra: str, tasks: str = "imputation,next_nucleotide") -> int:
    return main([
        "evaluate", "--model", model, "--data-dir", str(data_dir()), "--datasets", "VIR", "--tasks", tasks,
        "--limit", "4", "--n-sites", "4", "--window", "64", "--baseline", "none", "--n-bootstrap", "10",
        "--output", str(out), "--quiet", *extra,
    ])  # fmt: skip


def save(model: Any, tok: Any, folder: Path) -> Path:
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def remote(folder: Path, tok: Any, *, causal: bool, mixer: str) -> Path:
    """A checkpoint whose classes live beside it (auto_map), built from the fixture module."""
    sys.path.insert(0, str(FIXTURE))
    try:
        from configuration_tinydna import TinyDnaConfig
        from modeling_tinydna import TinyDnaForCausalLM, TinyDnaForMaskedLM
    finally:
        sys.path.remove(str(FIXTURE))
    folder.mkdir(parents=True)
    for f in ("configuration_tinydna.py", "modeling_tinydna.py"):
        shutil.copy(FIXTURE / f, folder / f)
    config = TinyDnaConfig(vocab_size=len(tok), mixer=mixer, causal=causal, pad_token_id=tok.pad_token_id)
    config.auto_map = json.loads((FIXTURE / "config.json").read_text())["auto_map"]
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = (TinyDnaForCausalLM if causal else TinyDnaForMaskedLM)(config)
    return save(model, tok, folder)


def gpn_package(folder: Path) -> Path:
    """GPN: a tiny ConvNetForMaskedLM from the gpn package's own config classes and GPN's tokenizer."""
    import gpn
    from transformers import AutoConfig, AutoModelForMaskedLM

    gpn.register_auto_classes("gpn")
    tok = PT.gpn_tokenizer()
    config = AutoConfig.for_model("ConvNet", vocab_size=len(tok), hidden_size=32, n_layers=2, kernel_size=5)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return save(AutoModelForMaskedLM.from_config(config), tok, folder)


def hf(arch: str, tok_factory: Callable[[], Any]) -> Callable[[Path], Path]:
    return lambda folder: save(tiny_masked_lm(tok := tok_factory(), arch=arch), tok, folder)


@functools.cache
def bpe() -> Any:
    return bpe_tokenizer()


# family -> (registry entry the replica stands in for, builder, expected scoring paths, approximate)
REPLICAS: dict[str, tuple[str, Callable[[Path], Path], set[str], bool]] = {
    "Nucleotide Transformer v1": ("nt-500m-human-ref", hf("esm", PT.nucleotide_transformer_tokenizer),
                                  {"masked.kmer"}, False),
    "Nucleotide Transformer v2": ("nt-v2-50m-multi-species", hf("esm", PT.nucleotide_transformer_tokenizer),
                                  {"masked.kmer"}, False),
    "DNABERT-1": ("dnabert-6", hf("bert", PT.dnabert1_tokenizer), {"masked.kmer"}, False),
    "DNABERT-2": ("dnabert-2-117m", lambda f: remote(f, bpe(), causal=False, mixer="conv"), {"candidate.bpe"}, True),
    "GROVER": ("grover", hf("bert", bpe), {"candidate.bpe"}, True),
    "GENA-LM": ("gena-lm-bert-base-t2t", hf("bert", bpe), {"candidate.bpe"}, True),
    "HyenaDNA": ("hyenadna-tiny-1k", lambda f: remote(f, PT.hyenadna_tokenizer(), causal=True, mixer="conv"),
                 {"causal.left", "causal.bayes"}, False),
    "Caduceus": ("caduceus-ph-131k", lambda f: remote(f, PT.caduceus_tokenizer(), causal=False, mixer="conv"),
                 {"masked.char"}, False),
    "GPN": ("gpn-brassicales", gpn_package, {"masked.char"}, False),
    "Genomic ULMFiT": ("genomic-ulmfit-bacteria-5m2s",
                       lambda f: remote(f, kmer_tokenizer(5, overlapping=True, causal=True), causal=True,
                                        mixer="lstm"), {"causal.left.kmer", "causal.bayes.kmer"}, False),
}  # fmt: skip


def test_every_family_has_an_offline_replica() -> None:
    families = {e.family for e in available_models().values()}
    assert families - {"GUANinE T5", "Evo 2"} == set(REPLICAS)  # GUANinE T5: tests/test_seq2seq.py


@pytest.mark.parametrize("family", sorted(REPLICAS))
def test_family_replica_through_evaluate(family: str, tmp_path: Path) -> None:
    name, build, paths, approximate = REPLICAS[family]
    folder = build(tmp_path / name)
    real = get_model(name)
    test_name = f"test-{name}"
    changes: dict[str, Any] = {"name": test_name, "hub_id": str(folder)}
    if real.hub_id is None:  # published outside the Hub: a converted folder with remote code
        changes["trust_remote_code"] = True
    entry = register_model(dataclasses.replace(real, **changes))
    try:
        flags = ["--trust-remote-code"] if entry.trust_remote_code else []
        if entry.trust_remote_code:
            assert evaluate(test_name, tmp_path / "refused.json") == 2  # the entry refuses without the flag
        out = tmp_path / "res.json"
        assert evaluate(test_name, out, *flags, tasks="imputation,next_nucleotide,transfer") == 0
    finally:
        unregister_model(test_name)
    doc = json.loads(out.read_text())
    cfg = doc["config"]
    assert cfg["model"] == test_name and cfg["model_entry"]["family"] == family
    assert cfg["model_entry"]["hub_id"] == str(folder) and cfg["tokenizer_kind"] == real.tokenizer
    assert cfg["model_kind"] == real.objective
    seen = {p for t in ("imputation", "next_nucleotide") for p in doc["results"][t]["VIR"]["scoring_path"]}
    assert seen == paths
    assert doc["results"]["imputation"]["VIR"]["approximate"] is approximate
    assert set(doc["results"]["transfer"]["VIR"]["by_train"]) == {real.trained_on()}


def test_remote_code_folder_refuses_without_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = remote(tmp_path / "hyena_like", char_tokenizer(causal=True), causal=True, mixer="conv")
    assert evaluate(str(folder), tmp_path / "a.json") == 2
    err = capsys.readouterr().err
    assert "--trust-remote-code" in err and "auto_map" in err
    assert evaluate(str(folder), tmp_path / "b.json", "--trust-remote-code") == 0
    assert json.loads((tmp_path / "b.json").read_text())["config"]["model_entry"] is None


def test_registry_entry_needing_remote_code_refuses_before_any_download(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate("dnabert-2-117m", tmp_path / "x.json") == 2
    assert "pass --trust-remote-code" in capsys.readouterr().err
    assert evaluate("dnabert2", tmp_path / "y.json") == 2
    assert "did you mean" in capsys.readouterr().err


def test_entry_settings_are_overridable(tmp_path: Path) -> None:
    folder = hf("bert", char_tokenizer)(tmp_path / "bert_char")
    entry = register_model(ModelEntry(
        name="test-override", family="GROVER", hub_id=str(folder), architecture="BertForMaskedLM",
        objective="masked", tokenizer="bpe", citation="-", sources=("-",),
    ))  # fmt: skip
    try:
        assert evaluate(entry.name, tmp_path / "a.json", "--tokenizer-kind", "char") == 0
    finally:
        unregister_model(entry.name)
    doc = json.loads((tmp_path / "a.json").read_text())
    assert doc["config"]["tokenizer_kind"] == "char"
    assert doc["results"]["imputation"]["VIR"]["scoring_path"] == ["masked.char"]
