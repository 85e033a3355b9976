"""Tokenizer kinds, detection and nucleotide <-> token spans for every kind."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import normalizers
from transformers import AutoTokenizer

from genobench_hf import testing as T
from genobench_hf.alignment import (
    Aligner,
    TokenizerKind,
    check_fixed_frame,
    covering,
    covering_pairs,
    detect_tokenizer_kind,
    overlapping_kmer_text,
)
from genobench_hf.errors import ConfigError, ModelError


@cache
def tokenizers() -> dict[str, Any]:
    return {
        "char": T.char_tokenizer(),
        "kmer:6": T.kmer_tokenizer(6),
        "kmer:3": T.kmer_tokenizer(3),
        "kmer:6:1": T.kmer_tokenizer(6, overlapping=True),
        "kmer:4:1": T.kmer_tokenizer(4, overlapping=True),
        "bpe": T.bpe_tokenizer(),
    }


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("char", TokenizerKind("char")),
        ("kmer:6", TokenizerKind("kmer", 6, 6)),
        ("KMER:6:1", TokenizerKind("kmer", 6, 1)),
        ("bpe", TokenizerKind("bpe")),
        ("auto", None),
    ],
)
def test_parse_and_str_round_trip(text: str, kind: TokenizerKind | None) -> None:
    assert TokenizerKind.parse(text) == kind
    if kind is not None:
        assert TokenizerKind.parse(str(kind)) == kind


@pytest.mark.parametrize("bad", ["kmer", "kmer:x", "kmer:6:7", "kmer:0", "word", "char:3"])
def test_parse_rejects_bad_kinds(bad: str) -> None:
    with pytest.raises(ConfigError):
        TokenizerKind.parse(bad)


def test_kind_properties() -> None:
    assert TokenizerKind("kmer", 6, 1).overlapping and not TokenizerKind("kmer", 6).overlapping
    assert TokenizerKind("char").fixed_frame and not TokenizerKind("bpe").fixed_frame


@pytest.mark.parametrize("name", ["char", "kmer:6", "kmer:3", "kmer:6:1", "kmer:4:1", "bpe"])
def test_detects_every_kind_also_after_a_save_and_reload(name: str, tmp_path: Path) -> None:
    tok = tokenizers()[name]
    assert str(detect_tokenizer_kind(tok)) == name
    tok.save_pretrained(tmp_path)
    assert str(detect_tokenizer_kind(AutoTokenizer.from_pretrained(tmp_path))) == name


@pytest.mark.parametrize("name", ["char", "kmer:6", "kmer:3", "bpe"])
def test_disjoint_spans_tile_and_spell_the_sequence(name: str) -> None:
    tok = tokenizers()[name]
    seq = T.real_dna(300, 10_000)
    seq = seq[:100] + "NN" + seq[102:]
    aligner = Aligner(tok, TokenizerKind.parse(name))  # type: ignore[arg-type]
    a = aligner.align(seq)
    assert a.spans[0].tolist() == [-1, -1] and a.spans[-1].tolist() == [-1, -1]  # [CLS] ... [SEP]
    body = a.spans[1:-1]
    strings = tok.convert_ids_to_tokens(a.input_ids[1:-1].tolist())
    assert "".join(strings) == seq
    assert all(seq[s:e] == t for t, (s, e) in zip(strings, body, strict=True))
    assert a.input_ids.tolist() == tok(aligner.text(seq))["input_ids"]


@pytest.mark.parametrize(("k", "stride"), [(6, 1), (4, 1), (6, 2)])
def test_overlapping_spans_follow_the_arithmetic(k: int, stride: int) -> None:
    seq = T.real_dna(50, 20_000)
    tok = T.kmer_tokenizer(k, overlapping=True)
    a = Aligner(tok, TokenizerKind("kmer", k, stride)).align(seq, special=False)
    starts = np.arange(0, len(seq) - k + 1, stride)
    assert a.spans.tolist() == [[t, t + k] for t in starts]
    assert tok.convert_ids_to_tokens(a.input_ids.tolist()) == [seq[t : t + k] for t in starts]
    assert overlapping_kmer_text("ACGTAC", 4, 1) == "ACGT CGTA GTAC"


def test_overlapping_kmers_with_n_become_unk() -> None:
    tok = tokenizers()["kmer:6:1"]
    a = Aligner(tok, TokenizerKind("kmer", 6, 1)).align("ACGTACNTACGTA", special=False)
    assert (
        a.input_ids.tolist()
        == tok(overlapping_kmer_text("ACGTACNTACGTA", 6, 1), add_special_tokens=False)["input_ids"]
    )
    assert tok.unk_token_id in a.input_ids.tolist()


def test_covering() -> None:
    seq = T.real_dna(40, 30_000)
    over = Aligner(tokenizers()["kmer:6:1"], TokenizerKind("kmer", 6, 1)).align(seq)
    assert covering(over, 20) == list(range(16, 22))  # tokens starting at 15..20, after [CLS]
    assert covering(over, 0) == [1]
    nt = Aligner(tokenizers()["kmer:6"], TokenizerKind("kmer", 6)).align(seq)
    assert covering(nt, 13) == [3]  # [CLS] 0-6 6-12 [12-18]
    site, token = covering_pairs(over, np.array([0, 20]))
    assert site.tolist() == [0] + [1] * 6 and token.tolist() == [1, *range(16, 22)]


def test_fixed_frame_check_accepts_kmers_and_rejects_bpe() -> None:
    for name in ("char", "kmer:6", "kmer:6:1"):
        check_fixed_frame(Aligner(tokenizers()[name], TokenizerKind.parse(name)))  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="not fixed-frame"):
        check_fixed_frame(Aligner(tokenizers()["bpe"], TokenizerKind("bpe")))


def test_wrong_kind_for_a_tokenizer_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="one nucleotide per token"):
        Aligner(tokenizers()["kmer:6"], TokenizerKind("char"))
    with pytest.raises(ModelError, match="overlapping"):
        Aligner(tokenizers()["kmer:6"], TokenizerKind("kmer", 6, 1))


def test_tokenizer_that_rewrites_dna_is_refused() -> None:
    tok = T.bpe_tokenizer([T.real_dna(20_000)], vocab_size=64)
    tok.backend_tokenizer.normalizer = normalizers.Lowercase()
    with pytest.raises(ModelError):
        Aligner(tok, TokenizerKind("bpe")).align("ACGTTGCA")
