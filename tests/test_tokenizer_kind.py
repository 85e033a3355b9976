"""``--tokenizer-kind`` governs (issue 11, point 7): it reaches the loader, it lets a tokenizer that
detection refuses be scored, and detection refuses (naming the flag) where it cannot tell the stride."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from genobench_hf import testing as T
from genobench_hf.alignment import detect_tokenizer_kind
from genobench_hf.cli import main
from genobench_hf.errors import ModelError
from genobench_hf.scoring.loading import load_model
from genobench_hf.scoring.masked import MaskedLMScorer


def _save(folder: Path, tok: object) -> Path:
    T.tiny_masked_lm(tok).save_pretrained(folder)
    tok.save_pretrained(folder)  # type: ignore[attr-defined]
    return folder


def test_overlapping_stride_is_never_guessed(tmp_path: Path) -> None:
    undeclared = T.kmer_tokenizer(5, overlapping=True, stride=None)
    with pytest.raises(ModelError, match=r"--tokenizer-kind kmer:5:1 .*kmer:5:STRIDE"):
        detect_tokenizer_kind(undeclared)
    declared = T.kmer_tokenizer(5, overlapping=True, stride=2)
    declared.save_pretrained(tmp_path)
    assert str(detect_tokenizer_kind(declared)) == "kmer:5:2"
    assert str(detect_tokenizer_kind(AutoTokenizer.from_pretrained(tmp_path))) == "kmer:5:2"
    bad = T.kmer_tokenizer(5, overlapping=True, stride=5)
    with pytest.raises(ModelError, match="kmer_stride=5"):
        detect_tokenizer_kind(bad)


def test_the_flag_reaches_the_loader_and_governs(tmp_path: Path) -> None:
    lower = _save(tmp_path / "lower", T.lowercase_char_tokenizer())
    assert str(load_model(lower).tokenizer_kind) == "char"  # a lower-case vocabulary is detected (GPN's is)
    loaded = load_model(lower, tokenizer_kind="char")
    assert str(loaded.tokenizer_kind) == "char"
    r = T.sample_requests(T.real_dna(20_000), "imputation", 4)
    assert len(MaskedLMScorer(loaded).score(r, 4)) == 4
    stride2 = _save(tmp_path / "s2", T.kmer_tokenizer(5, overlapping=True, stride=None))
    assert str(load_model(stride2, tokenizer_kind="kmer:5:2").tokenizer_kind) == "kmer:5:2"


def _evaluate(data: Path, model: Path, out: Path, *extra: str) -> int:
    argv = ["evaluate", "--model", str(model), "--data-dir", str(data), "--output", str(out), "--quiet"]
    return main([*argv, "--tasks", "imputation,next_nucleotide", "--datasets", "VIR", "--limit", "12",
                 "--n-bootstrap", "0", *extra])  # fmt: skip


def test_evaluate_honours_tokenizer_kind(
    built_corpus: tuple[Path, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = built_corpus
    lower = _save(tmp_path / "lower", T.lowercase_char_tokenizer())
    assert _evaluate(data, lower, tmp_path / "lower.json", "--tokenizer-kind", "char") == 0
    doc = json.loads((tmp_path / "lower.json").read_text())
    assert doc["config"]["tokenizer_kind"] == "char"
    assert doc["results"]["imputation"]["VIR"]["scoring_path"] == ["masked.char"]

    stride2 = _save(tmp_path / "s2", T.kmer_tokenizer(5, overlapping=True, stride=None))
    capsys.readouterr()
    assert _evaluate(data, stride2, tmp_path / "refused.json") == 2  # before: silently kmer:5:1
    assert "--tokenizer-kind kmer:5:1" in capsys.readouterr().err
    assert _evaluate(data, stride2, tmp_path / "s2.json", "--tokenizer-kind", "kmer:5:2") == 0
    doc = json.loads((tmp_path / "s2.json").read_text())
    assert doc["config"]["tokenizer_kind"] == "kmer:5:2" and doc["config"]["frame_rule"]
    for task in ("imputation", "next_nucleotide"):
        m = doc["results"][task]["VIR"]
        assert m["n_uncovered"] == 0 and m["n_frame_fallback"] == 0
        assert sum(m["frame_offsets"].values()) == m["n_scored"]
        assert m["frame_offsets"]["0"] > 0 and m["frame_offsets"]["1"] > 0  # both phases of stride 2
