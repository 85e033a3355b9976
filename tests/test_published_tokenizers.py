"""The exact tokenizer reconstructions (registry/tokenizers.py) against the published specifications, and
what genobench feeds a model through each of them.

The references below are written from the specifications alone (not from the module under test), and are
pinned to published facts: Nucleotide Transformer's <cls> = 3, AAAAAA = 6, A T C G N = 4102-4106,
TAAAAAA -> TAAAAA + A; DNABERT-1's vocab.txt order; HyenaDNA/Caduceus' ids 7-11 and trailing [SEP].
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import torch

from genobench_hf import testing as T
from genobench_hf.registry import available_models
from genobench_hf.registry import tokenizers as PT
from genobench_hf.scoring.causal import CausalLMScorer
from genobench_hf.scoring.loading import wrap_model
from genobench_hf.scoring.masked import MaskedLMScorer


@pytest.fixture(scope="module")
def dna() -> str:
    """Real DNA with a run of N and single Ns, so fallbacks and tails are exercised."""
    seq = T.real_dna(30_000, offset=200_000)
    return seq[:700] + "NNN" + seq[703:1500] + "N" + seq[1501:]


# ----------------------------------------------------------------------------- references from the specs
def nt_reference(seq: str) -> list[int]:
    """NT: <cls>, then per N-free run greedy 6-mers from its start, shorter tails as single nucleotides."""
    vocab = {t: i for i, t in enumerate(
        ["<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>"]
        + ["".join(p) for p in itertools.product("ATCG", repeat=6)] + list("ATCGN")
    )}  # fmt: skip
    ids = [vocab["<cls>"]]
    for j, run in enumerate(seq.split("N")):
        if j:
            ids.append(vocab["N"])
        full = len(run) // 6 * 6
        ids += [vocab[run[t : t + 6]] for t in range(0, full, 6)] + [vocab[c] for c in run[full:]]
    return ids


def dnabert_reference(seq: str, k: int) -> list[int]:
    """DNABERT-1: [CLS], one id per overlapping k-mer (product('ATCG') order after 5 specials), [SEP]."""
    index = {"".join(p): i + 5 for i, p in enumerate(itertools.product("ATCG", repeat=k))}
    return [2, *(index.get(seq[t : t + k], 1) for t in range(len(seq) - k + 1)), 3]


def char_reference(seq: str) -> list[int]:
    """HyenaDNA / Caduceus: A C G T N = 7..11, [UNK] = 6, [SEP] = 1 appended."""
    return [{"A": 7, "C": 8, "G": 9, "T": 10, "N": 11}.get(c, 6) for c in seq] + [1]


def gpn_reference(seq: str) -> list[int]:
    """GPN: lower-cased a c g t = 3..6, anything else [UNK] = 2, no special tokens."""
    return [{"a": 3, "c": 4, "g": 5, "t": 6}.get(c, 2) for c in seq.lower()]


def test_published_facts_are_pinned() -> None:
    nt = PT.nucleotide_transformer_tokenizer()
    assert len(nt) == 4107 and nt([""])["input_ids"] == [[3]]
    assert nt(["A", "T", "C", "G", "N"])["input_ids"] == [
        [3, 4102],
        [3, 4103],
        [3, 4104],
        [3, 4105],
        [3, 4106],
    ]
    assert nt(["AAAAAA", "AAAAAAT", "TAAAAAA"])["input_ids"] == [[3, 6], [3, 6, 4103], [3, 1030, 4102]]
    for k in (3, 4, 5, 6):
        tok = PT.dnabert1_tokenizer(k)
        assert len(tok) == 5 + 4**k
        assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4, 5, 6]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                                                   "A" * k, "A" * (k - 1) + "T"]  # fmt: skip
    for tok in (PT.hyenadna_tokenizer(), PT.caduceus_tokenizer()):
        assert tok("ACGTN")["input_ids"] == [7, 8, 9, 10, 11, 1]
    assert PT.hyenadna_tokenizer()("acgt")["input_ids"] == [6, 6, 6, 6, 1]  # HyenaDNA does not upper-case
    assert PT.caduceus_tokenizer()("acgt")["input_ids"] == [7, 8, 9, 10, 1]  # Caduceus does
    assert PT.gpn_tokenizer()("ACGTN")["input_ids"] == [3, 4, 5, 6, 2]


@pytest.mark.parametrize("length", [1, 5, 6, 7, 11, 12, 13, 61, 256, 257])
def test_reconstructions_equal_the_specs(dna: str, length: int) -> None:
    for start in (0, 690, 1495):  # plain DNA, a run of N, a single N
        seq = dna[start : start + length]
        assert PT.nucleotide_transformer_tokenizer()(seq)["input_ids"] == nt_reference(seq)
        for k in (3, 4, 5, 6):
            text = " ".join(seq[t : t + k] for t in range(len(seq) - k + 1))
            assert PT.dnabert1_tokenizer(k)(text)["input_ids"] == dnabert_reference(seq, k)
        assert PT.hyenadna_tokenizer()(seq)["input_ids"] == char_reference(seq)
        assert PT.caduceus_tokenizer()(seq)["input_ids"] == char_reference(seq)
        assert PT.gpn_tokenizer()(seq)["input_ids"] == gpn_reference(seq)


# ----------------------------------------------------------------------------- what genobench feeds
def _recorder(model: Any) -> list[list[int]]:
    """Record the unpadded input ids of every forward pass."""
    rows: list[list[int]] = []
    forward = model.forward

    def wrapped(input_ids: torch.Tensor | None = None, attention_mask: Any = None, **kw: Any) -> Any:
        assert input_ids is not None
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        rows.extend(r[m.bool()].tolist() for r, m in zip(input_ids, mask, strict=True))
        return forward(input_ids=input_ids, attention_mask=attention_mask, **kw)

    model.forward = wrapped
    return rows


MASKED_CASES = {  # family -> (tokenizer, reference from the spec, tokenizer kind as the registry gives it)
    "Nucleotide Transformer": (PT.nucleotide_transformer_tokenizer, nt_reference, "kmer:6"),
    "DNABERT-1 k=3": (lambda: PT.dnabert1_tokenizer(3), lambda s: dnabert_reference(s, 3), "kmer:3:1"),
    "DNABERT-1 k=6": (lambda: PT.dnabert1_tokenizer(6), lambda s: dnabert_reference(s, 6), "kmer:6:1"),
    "Caduceus": (PT.caduceus_tokenizer, char_reference, "char"),
    "GPN": (PT.gpn_tokenizer, gpn_reference, "char"),
}


def _cuts(window: str, k: int) -> list[str]:
    """The strings the frame rule may feed for a window: up to k - 1 nt trimmed from its start and free
    positions (masked, any filler) added before or after it (scoring/frames.py)."""
    return [
        "A" * p + window[t:] + "A" * e for t in range(k) for p in range(k) for e in range(2 * k)
    ]  # fmt: skip


@pytest.mark.parametrize("family", sorted(MASKED_CASES))
@pytest.mark.parametrize("protocol", ["imputation", "next_nucleotide", "imputation_dense"])
def test_masked_scorer_feeds_the_published_ids(dna: str, family: str, protocol: str) -> None:
    """Every input the scorer builds is the published tokenization of its (framed) window, masks aside."""
    build, reference, kind = MASKED_CASES[family]
    tok = build()
    model = T.tiny_masked_lm(tok, arch="bert")
    rows = _recorder(model)
    reqs = T.sample_requests(dna, protocol, 4, window=66, seed=3)
    MaskedLMScorer(wrap_model(model, tok, model_kind="masked", tokenizer_kind=kind)).score(reqs, 4)
    k = 1 if kind == "char" else int(kind.split(":")[1])
    refs = [reference(c) for r in reqs for c in _cuts(r.window, k)]
    assert rows
    mask = tok.mask_token_id
    for row in rows:
        fits = any(
            len(ref) == len(row) and all(a == b for a, b in zip(row, ref, strict=True) if a != mask)
            for ref in refs
        )
        assert fits, f"{family}: fed {row[:12]}... which is no (framed) window's published tokenization"
        assert any(a == mask for a in row)  # the site is hidden


def test_causal_scorer_feeds_the_published_ids_for_hyenadna(dna: str) -> None:
    """HyenaDNA (causal): the left context is the published tokenization of the window's prefix; the
    scorer puts the tokenizer's [BOS] (id 2) before it so the first nucleotide has a context (the
    published tokenizer adds [SEP] at the end only; a causal model's left view cannot see that)."""
    tok = PT.hyenadna_tokenizer()
    model = T.tiny_causal_lm(tok)
    rows = _recorder(model)
    reqs = T.sample_requests(dna, "next_nucleotide", 6, window=66, seed=3)
    CausalLMScorer(wrap_model(model, tok, model_kind="causal")).score(reqs, 4)
    published = [char_reference(r.window)[:-1] for r in reqs]  # without the trailing [SEP]
    for row in rows:
        assert row[0] == tok.bos_token_id == 2
        assert any(ref[: len(row) - 1] == row[1:] for ref in published)


def test_registry_offline_column_matches_the_entries() -> None:
    """The table's offline-test column says what is exact; k-mer notes name the entry's own k and stride."""
    for e in available_models().values():
        if e.external:
            assert e.offline_test == "none"
            continue
        if e.offline_test == "exact tokenizer":
            assert e.family in PT.PUBLISHED_TOKENIZERS
        if e.offline_test == "package":
            assert e.import_module and e.model_types
        if e.family in PT.PUBLISHED_TOKENIZERS and e.offline_test not in ("exact tokenizer", "package"):
            pytest.fail(
                f"{e.name}: its tokenizer is reconstructed exactly but the table says {e.offline_test}"
            )
        kind = e.tokenizer_kind
        if kind is not None and kind.kind == "kmer":
            assert f"{kind.k}-mer" in e.offline_note, e.name
            if kind.overlapping:
                assert f"stride {kind.stride}" in e.offline_note or f"stride-{kind.stride}" in e.offline_note
        if kind is not None and kind.kind == "bpe":
            assert e.offline_test == "stand-in" and "trained here" in e.offline_note


def test_uniform_head_through_every_reconstruction_scores_two_bits(dna: str) -> None:
    """A real architecture with a zeroed output head is uniform over tokens: exactly 2 bits on the masked
    paths of every exact tokenizer (a fixed-frame k-mer marginal of a uniform token distribution is
    uniform over the 4 bases)."""
    for family, (build, _, kind) in sorted(MASKED_CASES.items()):
        tok = build()
        model = T.tiny_masked_lm(tok, arch="bert")
        with torch.no_grad():
            head = model.get_output_embeddings()
            head.weight.zero_()
            if getattr(head, "bias", None) is not None:
                head.bias.zero_()
            for p in model.cls.predictions.parameters() if hasattr(model, "cls") else []:
                p.zero_()
        sc = MaskedLMScorer(wrap_model(model, tok, model_kind="masked", tokenizer_kind=kind))
        reqs = T.sample_requests(dna, "imputation", 10, window=66, seed=5)
        probs = np.concatenate([s.probs for s in sc.score(reqs, 4)])
        assert np.allclose(probs, 0.25, atol=1e-9), family
