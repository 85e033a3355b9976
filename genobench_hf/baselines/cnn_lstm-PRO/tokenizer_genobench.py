"""The single-nucleotide tokenizer saved with genobench's baseline models.

One token per nucleotide, so every scoring path (char fast paths, exact two-sided Bayes) applies and no
segmentation can leak a hidden base. The causal and masked variants share ONE vocabulary (ids 2 and 3 are
[BOS]/[CLS] and [EOS]/[SEP]); only the special tokens added around the input differ: causal models see
``[BOS] x``, masked models ``[CLS] x [SEP]``. The training loop encodes with :func:`encode` (a byte lookup
table, much faster than the tokenizer) and a test checks that both agree.
"""

from __future__ import annotations

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

PAD_ID, UNK_ID, BOS_ID, EOS_ID, MASK_ID = 0, 1, 2, 3, 4
NUCLEOTIDE_IDS = {"A": 5, "C": 6, "G": 7, "T": 8, "N": 9}
VOCAB_SIZE = 10
ACGT_IDS = (5, 6, 7, 8)
_COMPLEMENT_ID = np.arange(VOCAB_SIZE, dtype=np.int64)
_COMPLEMENT_ID[[5, 6, 7, 8]] = [8, 7, 6, 5]


def _specials(causal: bool) -> list[str]:
    return ["[PAD]", "[UNK]", "[BOS]" if causal else "[CLS]", "[EOS]" if causal else "[SEP]", "[MASK]"]


def dna_char_tokenizer(causal: bool) -> PreTrainedTokenizerFast:
    """A ``PreTrainedTokenizerFast`` over A C G T N (+ specials) that round-trips through ``AutoTokenizer``.

    Input is expected uppercase (the dataset convention); lowercase acgtn are uppercased by a normalizer
    anyway (tokenizers has no Uppercase normalizer, so five one-character replacements keep offsets
    exact). Other IUPAC codes become [UNK]; callers map them to N first (``to_model_alphabet``).
    """
    specials = _specials(causal)
    vocab = {tok: i for i, tok in enumerate(specials)} | NUCLEOTIDE_IDS
    tk = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tk.normalizer = normalizers.Sequence([normalizers.Replace(c.lower(), c) for c in "ACGTN"])
    tk.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    if causal:
        tk.post_processor = processors.TemplateProcessing(
            single="[BOS] $A", special_tokens=[("[BOS]", BOS_ID)]
        )
        names = {"bos_token": "[BOS]", "eos_token": "[EOS]"}
    else:
        tk.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", BOS_ID), ("[SEP]", EOS_ID)]
        )
        names = {"cls_token": "[CLS]", "sep_token": "[SEP]"}
    return PreTrainedTokenizerFast(
        tokenizer_object=tk,
        model_max_length=1_000_000_000,  # no positional limit: recurrent, convolutional, rotary models
        pad_token="[PAD]",
        unk_token="[UNK]",
        mask_token="[MASK]",
        padding_side="right",
        **names,
    )


_LOOKUP = np.full(256, NUCLEOTIDE_IDS["N"], dtype=np.uint8)
for _c, _i in NUCLEOTIDE_IDS.items():
    _LOOKUP[ord(_c)] = _LOOKUP[ord(_c.lower())] = _i


def encode(sequence: str) -> np.ndarray:
    """Token ids of a DNA string without specials (any non-ACGT byte becomes N), as uint8."""
    return _LOOKUP[np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8)]


def reverse_complement_ids(ids: np.ndarray) -> np.ndarray:
    """Reverse complement of nucleotide ids along the last axis (N stays N)."""
    return _COMPLEMENT_ID[ids[..., ::-1]]
