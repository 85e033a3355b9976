"""Tiny offline tokenizers, models and test doubles for tests and benchmarks.

Everything here is built from a config on the spot (no network, no Hub), so that every scoring path can
be exercised on every tokenizer kind. The doubles are real :class:`PreTrainedModel` subclasses whose
outputs are known in closed form: a uniform model must score exactly chance on every path, and a copy
model exposes any leak of the hidden base (it echoes whatever the scorer lets it see).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast
from transformers.modeling_outputs import CausalLMOutput, MaskedLMOutput

from genobench_hf.alignment import Aligner, TokenizerKind, detect_tokenizer_kind, kmer_strings
from genobench_hf.scoring.base import BASE_INDEX, BASES, ScoreRequest, SiteScores

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"]
DEFAULT_GENOME = "PRO/Escherichia_coli_K-12_MG1655.fna.gz"
COPY_LOGIT = 12.0


# ----------------------------------------------------------------------------- real DNA
def genomes_root() -> Path:
    """``$GENOBENCH_GENOMES`` if set, else the corpus embedded in the package (E. coli K-12 and the other
    genomes tests use): never a folder outside the checkout, so a test sees the same bytes in every clone."""
    env = os.environ.get("GENOBENCH_GENOMES")
    return Path(env) if env else Path(__file__).resolve().parent / "corpus"


@lru_cache(maxsize=4)
def _first_record(path: Path) -> str:
    with gzip.open(path, "rt") as fh:
        lines = []
        for line in fh:
            if line.startswith(">"):
                if lines:
                    break
                continue
            lines.append(line.strip())
    seq = "".join(lines).upper()
    return seq.translate(str.maketrans({c: "N" for c in set(seq) - set("ACGT")}))


def real_dna(length: int, offset: int = 0, genome: str = DEFAULT_GENOME) -> str:
    """``length`` nt of the first record of a corpus genome (uppercase, non-ACGT as N)."""
    seq = _first_record(genomes_root() / genome)
    if offset + length > len(seq):
        raise ValueError(f"{genome} has {len(seq)} nt, asked for {offset}+{length}")
    return seq[offset : offset + length]


def sample_requests(
    dna: str,
    protocol: str,
    n: int,
    *,
    window: int = 64,
    mask_rate: float = 0.15,
    seed: int = 0,
) -> list[ScoreRequest]:
    """``n`` seeded requests from ``dna`` laid out like the tasks do (imputation: site at the centre;
    next_nucleotide: site last; dense: ACGT positions hidden at ``mask_rate``, at least one)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        start = int(rng.integers(0, len(dna) - window))
        w = dna[start : start + window]
        if protocol == "imputation":
            sites = [window // 2]
        elif protocol == "next_nucleotide":
            sites = [window - 1]
        else:
            sites = [int(p) for p in np.flatnonzero(rng.random(window) < mask_rate)] or [window // 2]
        sites = [p for p in sites if w[p] in BASES]
        if sites:
            targets = tuple(BASE_INDEX[w[p]] for p in sites)
            out.append(ScoreRequest(w, tuple(sites), protocol, targets))  # type: ignore[arg-type]
    return out


def bits_and_accuracy(requests: Sequence[ScoreRequest], scores: Sequence[SiteScores]) -> tuple[float, float]:
    """Mean bits per nucleotide of the true base and argmax accuracy (a test helper, not the metric)."""
    probs = np.concatenate([s.probs for s in scores])
    targets = np.concatenate([q.targets for q in requests]).astype(np.int64)
    p_true = probs[np.arange(len(targets)), targets]
    return float(-np.log2(p_true).mean()), float((probs.argmax(axis=1) == targets).mean())


# ----------------------------------------------------------------------------- tokenizers
def _wrap(tk: Tokenizer, causal: bool, **init: Any) -> PreTrainedTokenizerFast:
    """Add the post-processor (masked: [CLS] x [SEP]; causal: [BOS] x) and wrap for transformers."""
    ids = {t: tk.token_to_id(t) for t in SPECIALS}
    if causal:
        tk.post_processor = processors.TemplateProcessing(
            single="[BOS] $A", special_tokens=[("[BOS]", ids["[BOS]"])]
        )
    else:
        tk.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", special_tokens=[("[CLS]", ids["[CLS]"]), ("[SEP]", ids["[SEP]"])]
        )
    names = ["pad", "unk", "cls", "sep", "mask", "bos", "eos"]
    kwargs = {f"{n}_token": t for n, t in zip(names, SPECIALS, strict=True)}
    return PreTrainedTokenizerFast(tokenizer_object=tk, model_max_length=100_000, **kwargs, **init)


def _word_level(tokens: Sequence[str]) -> Tokenizer:
    vocab = {t: i for i, t in enumerate([*SPECIALS, *tokens])}
    return Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))


def char_tokenizer(*, causal: bool = False) -> PreTrainedTokenizerFast:
    """One token per nucleotide (HyenaDNA/Caduceus style): WordLevel + empty-pattern Split."""
    tk = _word_level(list("ACGTN"))
    tk.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    return _wrap(tk, causal)


def kmer_tokenizer(
    k: int = 6, overlapping: bool = False, *, causal: bool = False, stride: int | None = 1
) -> PreTrainedTokenizerFast:
    """NT style (k-mers + single-nucleotide fallback, regex ``[ACGT]{k}|.``) or DNABERT-1 style
    (all k-mers, whitespace pre-tokeniser: the caller feeds space-separated overlapping k-mers).

    An overlapping tokenizer declares ``stride`` as ``kmer_stride`` (saved in tokenizer_config.json), as
    detection needs; ``stride=None`` builds one that declares nothing, like most published ones."""
    if overlapping:
        tk = _word_level(kmer_strings(k))
        tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        return _wrap(tk, causal, **({} if stride is None else {"kmer_stride": stride}))
    tk = _word_level([*kmer_strings(k), *"ACGTN"])
    tk.pre_tokenizer = pre_tokenizers.Split(pattern=Regex(f"[ACGT]{{{k}}}|."), behavior="isolated")
    return _wrap(tk, causal)


def lowercase_char_tokenizer(*, causal: bool = False) -> PreTrainedTokenizerFast:
    """A char tokenizer whose vocabulary is lowercase (a, c, g, t, n) behind a Lowercase normaliser: it
    reads DNA one nucleotide per token, but no vocabulary rule can tell (``--tokenizer-kind char``)."""
    tk = Tokenizer(models.WordLevel({t: i for i, t in enumerate([*SPECIALS, *"acgtn"])}, unk_token="[UNK]"))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    return _wrap(tk, causal)


def bpe_tokenizer(
    train_sequences: Sequence[str] | None = None, vocab_size: int = 256, *, causal: bool = False
) -> PreTrainedTokenizerFast:
    """BPE merges over a char alphabet, no whitespace (DNABERT-2 style), trained on real DNA
    (default: 200 kb of E. coli in 1 kb pieces)."""
    if train_sequences is None:
        dna = real_dna(200_000, offset=1_000_000)
        train_sequences = [dna[i : i + 1000] for i in range(0, len(dna), 1000)]
    tk = Tokenizer(models.BPE(unk_token="[UNK]"))
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=list("ACGTN"), show_progress=False
    )
    tk.train_from_iterator(train_sequences, trainer)
    return _wrap(tk, causal)


# ----------------------------------------------------------------------------- tiny real models
def _seeded(seed: int, build: Any) -> Any:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build().eval()


def tiny_masked_lm(tokenizer: Any, seed: int = 0, arch: str = "bert", **cfg: Any) -> PreTrainedModel:
    """A randomly initialised ~30k-parameter BertForMaskedLM (or EsmForMaskedLM) for ``tokenizer``.

    A large ``initializer_range`` makes the outputs far from uniform, so agreement tests mean something.
    """
    common = dict(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, pad_token_id=tokenizer.pad_token_id, initializer_range=0.3,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    if arch == "bert":
        from transformers import BertConfig, BertForMaskedLM

        config = BertConfig(**{"max_position_embeddings": 1024, **common, **cfg})
        return _seeded(seed, lambda: BertForMaskedLM(config))
    if arch == "esm":
        from transformers import EsmConfig, EsmForMaskedLM

        config = EsmConfig(**{
            "max_position_embeddings": 1026, "mask_token_id": tokenizer.mask_token_id,
            "position_embedding_type": "absolute", "token_dropout": False, **common, **cfg,
        })  # fmt: skip
        return _seeded(seed, lambda: EsmForMaskedLM(config))
    raise ValueError(f"unknown arch {arch!r}")


def tiny_causal_lm(tokenizer: Any, seed: int = 0, arch: str = "gpt2", **cfg: Any) -> PreTrainedModel:
    """A randomly initialised tiny GPT2LMHeadModel (or LlamaForCausalLM) for ``tokenizer``."""
    ids = dict(
        vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, initializer_range=0.3,
    )  # fmt: skip
    if arch == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(**{
            "n_positions": 1024, "n_embd": 32, "n_layer": 2, "n_head": 2, "resid_pdrop": 0.0,
            "embd_pdrop": 0.0, "attn_pdrop": 0.0, **ids, **cfg,
        })  # fmt: skip
        return _seeded(seed, lambda: GPT2LMHeadModel(config))
    if arch == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        config = LlamaConfig(**{
            "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
            "num_key_value_heads": 2, "max_position_embeddings": 1024, **ids, **cfg,
        })  # fmt: skip
        return _seeded(seed, lambda: LlamaForCausalLM(config))
    raise ValueError(f"unknown arch {arch!r}")


# ----------------------------------------------------------------------------- test doubles
class DoubleConfig(PretrainedConfig):
    """Config of the test doubles: the vocabulary strings and, for the copy MLM, the k-mer frame."""

    model_type = "genobench_double"

    def __init__(
        self,
        vocab_size: int = 8,
        max_position_embeddings: int = 8192,
        token_strings: list[str] | None = None,
        mask_token_id: int | None = None,
        kmer_k: int = 1,
        kmer_stride: int = 1,
        n_prefix: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.token_strings = token_strings or []
        self.mask_token_id = mask_token_id
        self.kmer_k, self.kmer_stride, self.n_prefix = kmer_k, kmer_stride, n_prefix


class _Double(PreTrainedModel):
    config_class = DoubleConfig
    base_model_prefix = "double"
    model_kind = "masked"

    def __init__(self, config: DoubleConfig) -> None:
        super().__init__(config)
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the model a device and a dtype
        self.post_init()

    def _init_weights(self, module: torch.nn.Module) -> None:
        pass

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, kind: TokenizerKind | None = None) -> _Double:
        """Build the double for ``tokenizer`` (the copy MLM needs the tokenizer's k-mer frame)."""
        kind = kind or detect_tokenizer_kind(tokenizer)
        vocab = tokenizer.get_vocab()
        strings = [""] * len(tokenizer)
        for tok, i in vocab.items():
            strings[i] = tok
        frame = (kind.k, kind.stride) if kind.overlapping else (1, 1)
        n_prefix = len(Aligner(tokenizer, kind).prefix)
        config = DoubleConfig(
            vocab_size=len(tokenizer), token_strings=strings, mask_token_id=tokenizer.mask_token_id,
            kmer_k=frame[0], kmer_stride=frame[1], n_prefix=n_prefix,
            is_decoder=cls.model_kind == "causal",
        )  # fmt: skip
        return cls(config).eval()

    def _logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **_: Any) -> Any:
        logits = self._logits(input_ids) + self.anchor
        out = CausalLMOutput if self.model_kind == "causal" else MaskedLMOutput
        return out(logits=logits)


class UniformMaskedLM(_Double):
    """All logits equal: every path must give probabilities of exactly 0.25."""

    def _logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*input_ids.shape, self.config.vocab_size, device=input_ids.device)


class UniformCausalLM(UniformMaskedLM):
    """Causal twin of :class:`UniformMaskedLM`."""

    model_kind = "causal"


class CopyCausalLM(_Double):
    """Position t predicts token t itself: a scorer that reads the logits at the site (off by one)
    instead of before it scores perfectly; a correct one only learns the previous base."""

    model_kind = "causal"

    def _logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(*input_ids.shape, self.config.vocab_size, device=input_ids.device)
        return out.scatter_(-1, input_ids.unsqueeze(-1), COPY_LOGIT)


class CopyMaskedLM(_Double):
    """Echoes every unmasked token; at a [MASK] it predicts the tokens consistent with every nucleotide
    that the unmasked tokens reveal (overlapping k-mers reveal their neighbours), uniform otherwise.

    So a scorer that lets an unmasked token carry the hidden base beats chance; a leak-free one scores
    exactly chance for char, non-overlapping k-mer, overlapping k-mer and BPE tokenizers.
    """

    def _logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        ids = input_ids.cpu().numpy()
        out = np.zeros((*ids.shape, cfg.vocab_size), dtype=np.float32)
        masked = ids == cfg.mask_token_id
        rows, cols = np.nonzero(~masked)
        out[rows, cols, ids[rows, cols]] = COPY_LOGIT
        if cfg.kmer_stride < cfg.kmer_k:
            self._reconstruct(ids, masked, out)
        return torch.from_numpy(out).to(input_ids.device)

    def _reconstruct(self, ids: np.ndarray, masked: np.ndarray, out: np.ndarray) -> None:
        cfg, k, s = self.config, self.config.kmer_k, self.config.kmer_stride
        if not hasattr(self, "_codes"):  # base codes of every vocabulary k-mer, -1 elsewhere
            self._codes = np.full((cfg.vocab_size, k), -1, dtype=np.int64)
            for i, tok in enumerate(cfg.token_strings):
                if len(tok) == k and set(tok) <= set("ACGT"):
                    self._codes[i] = ["ACGT".index(c) for c in tok]
        codes = self._codes
        is_kmer = (codes >= 0).all(axis=1)
        kmer_ids = np.flatnonzero(is_kmer)
        kmer_codes = codes[kmer_ids]
        for b in range(ids.shape[0]):
            body, body_masked = ids[b, cfg.n_prefix :], masked[b, cfg.n_prefix :]
            known = np.full(len(body) * s + k, -1, dtype=np.int64)
            seen = np.flatnonzero(is_kmer[body] & ~body_masked)
            known[seen[:, None] * s + np.arange(k)] = codes[body[seen]]
            hidden = np.flatnonzero(body_masked)
            patterns = known[hidden[:, None] * s + np.arange(k)][:, None, :]  # (n, 1, k)
            ok = ((kmer_codes[None] == patterns) | (patterns < 0)).all(axis=2)  # (n, n_kmers)
            rows, cols = np.nonzero(ok)
            out[b, cfg.n_prefix + hidden[rows], kmer_ids[cols]] = COPY_LOGIT
