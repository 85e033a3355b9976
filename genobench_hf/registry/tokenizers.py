"""Exact offline reconstructions of published DNA tokenizers, built from their documented formats.

The Hub cannot be reached in tests, so each family's tokenizer is rebuilt here from what its model card,
paper and tokenizer files state (vocabulary order, special-token ids, how N and short tails are cut, what
is added around a sequence). Each builder returns a transformers tokenizer of the class the Hub repo
names (``EsmTokenizer``, ``BertTokenizer``) or, where the Hub repo ships its own Python tokenizer class
(HyenaDNA, Caduceus: ``CharacterTokenizer`` as remote code), a ``PreTrainedTokenizerFast`` with the same
ids and the same framing. The facts, with where they were read:

- Nucleotide Transformer v1/v2 (InstaDeepAI ``vocab.txt`` + ``EsmTokenizer``; the nucleotide-transformer
  repository's tokenizer description; a worked tokenizer walk-through of the v2-50m repo): 4,107 tokens =
  ``<unk> <pad> <mask> <cls> <eos> <bos>`` (ids 0-5), the 4,096 6-mers in ``itertools.product("ATCG")``
  order (``AAAAAA`` = 6), then ``A T C G N`` (4102-4106). Left-to-right greedy 6-mers; N and a run of
  fewer than 6 nucleotides before an N or the end fall back to single-nucleotide tokens; ``<cls>`` is
  prepended, no ``<eos>`` is appended.
- DNABERT-1 k=3..6 (``dnabert-config/bert-config-K/vocab.txt`` of the DNABERT repository; the Hub repos
  ``zhihan1996/DNA_bert_K`` load it with a case-preserving BERT tokenizer): ``[PAD] [UNK] [CLS] [SEP]
  [MASK]`` (0-4), then the 4^k k-mers in ``product("ATCG")`` order; the input is the overlapping k-mers
  (stride 1) separated by spaces, framed ``[CLS] ... [SEP]``.
- HyenaDNA (``tokenization_hyena.py`` of the LongSafari ``-hf`` repos) and Caduceus
  (``tokenization_caduceus.py`` of the kuleshov-group repos): ``[CLS] [SEP] [BOS] [MASK] [PAD] [RESERVED]
  [UNK]`` (0-6), then ``A C G T N`` (7-11); one token per character; ``[SEP]`` is appended, nothing is
  prepended. Caduceus upper-cases its input; HyenaDNA does not (lower case becomes ``[UNK]``).
- GPN (``songlab/tokenizer-dna-mlm``, ``tokenizer.json``): ``[PAD] [MASK] [UNK]`` (0-2) then ``a c g t``
  (3-6); a ``Lowercase`` normaliser, whitespace pre-tokeniser, a BPE model with no merges (so one token
  per nucleotide; N becomes ``[UNK]``); no special tokens are added.

BPE families (DNABERT-2, GENA-LM, GROVER) publish learned merges that cannot be had offline: their tests
use BPE vocabularies trained here (``genobench_hf.testing.bpe_tokenizer``), and the registry says so.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import BertTokenizer, EsmTokenizer, PreTrainedTokenizerFast

NT_SPECIALS = ("<unk>", "<pad>", "<mask>", "<cls>", "<eos>", "<bos>")
DNABERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
CHAR_SPECIALS = ("[CLS]", "[SEP]", "[BOS]", "[MASK]", "[PAD]", "[RESERVED]", "[UNK]")
GPN_SPECIALS = ("[PAD]", "[MASK]", "[UNK]")


def kmers_atcg(k: int) -> list[str]:
    """All k-mers in the order both NT and DNABERT-1 list them: ``itertools.product("ATCG")``."""
    return ["".join(p) for p in itertools.product("ATCG", repeat=k)]


def nt_vocabulary() -> list[str]:
    """Nucleotide Transformer's 4,107 tokens in id order."""
    return [*NT_SPECIALS, *kmers_atcg(6), *"ATCGN"]


def dnabert_vocabulary(k: int) -> list[str]:
    """DNABERT-1's ``vocab.txt`` for k-mer length ``k`` (5 specials + 4^k k-mers)."""
    return [*DNABERT_SPECIALS, *kmers_atcg(k)]


def _vocab_file(tokens: list[str]) -> str:
    folder = Path(tempfile.mkdtemp(prefix="genobench-vocab-"))
    (folder / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return str(folder / "vocab.txt")


def nucleotide_transformer_tokenizer(model_max_length: int = 1000) -> EsmTokenizer:
    """NT v1/v2: ``EsmTokenizer`` over the 4,107-token vocabulary, ``<cls>`` prepended, no ``<eos>``."""
    return EsmTokenizer(
        _vocab_file(nt_vocabulary()),
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", cls_token="<cls>", eos_token=None,
        model_max_length=model_max_length,
    )  # fmt: skip


def dnabert1_tokenizer(k: int = 6, model_max_length: int = 512) -> BertTokenizer:
    """DNABERT-1: a case-preserving BERT WordPiece tokenizer over the k-mer vocabulary."""
    if not 3 <= k <= 6:
        raise ValueError(f"DNABERT-1 was published for k = 3..6, not {k}")
    return BertTokenizer(
        _vocab_file(dnabert_vocabulary(k)), do_lower_case=False, model_max_length=model_max_length
    )


def _char_tokenizer(*, upper: bool, model_max_length: int, padding_side: str) -> PreTrainedTokenizerFast:
    vocab = {t: i for i, t in enumerate([*CHAR_SPECIALS, *"ACGTN"])}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    if upper:
        tk.normalizer = _uppercase()
    tk.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    tk.post_processor = processors.TemplateProcessing(single="$A [SEP]", special_tokens=[("[SEP]", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, model_max_length=model_max_length, padding_side=padding_side,
        cls_token="[CLS]", sep_token="[SEP]", eos_token="[SEP]", bos_token="[BOS]", mask_token="[MASK]",
        pad_token="[PAD]", unk_token="[UNK]",
    )  # fmt: skip


def _uppercase() -> Any:
    """An upper-casing normaliser (the tokenizers library has Lowercase only): one Replace per letter."""
    return normalizers.Sequence([normalizers.Replace(c, c.upper()) for c in "acgtn"])


def hyenadna_tokenizer(model_max_length: int = 1026) -> PreTrainedTokenizerFast:
    """HyenaDNA's ``CharacterTokenizer``: ids 7-11 for A C G T N, ``[SEP]`` appended, left padding."""
    return _char_tokenizer(upper=False, model_max_length=model_max_length, padding_side="left")


def caduceus_tokenizer(model_max_length: int = 131_072) -> PreTrainedTokenizerFast:
    """Caduceus' ``CaduceusTokenizer``: HyenaDNA's ids, input upper-cased, ``[SEP]`` appended."""
    return _char_tokenizer(upper=True, model_max_length=model_max_length, padding_side="left")


def gpn_tokenizer(model_max_length: int = 512) -> PreTrainedTokenizerFast:
    """GPN's ``tokenizer-dna-mlm``: lower-cased characters a c g t (ids 3-6), no special tokens added."""
    vocab = {t: i for i, t in enumerate([*GPN_SPECIALS, *"acgt"])}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tk, model_max_length=model_max_length,
        pad_token="[PAD]", mask_token="[MASK]", unk_token="[UNK]",
    )  # fmt: skip


#: family -> builder of its exact tokenizer (DNABERT-1 takes k)
PUBLISHED_TOKENIZERS: dict[str, Callable[..., Any]] = {
    "Nucleotide Transformer v1": nucleotide_transformer_tokenizer,
    "Nucleotide Transformer v2": nucleotide_transformer_tokenizer,
    "DNABERT-1": dnabert1_tokenizer,
    "HyenaDNA": hyenadna_tokenizer,
    "Caduceus": caduceus_tokenizer,
    "GPN": gpn_tokenizer,
}
