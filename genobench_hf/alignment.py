"""Nucleotide <-> token alignment for every tokenizer kind used by DNA language models.

Scorers must know which tokens cover a nucleotide (to mask them) and which nucleotides a token spells (to
marginalise it). This module is the one place that knows how each tokenizer kind is fed and segmented:

- ``char``: one token per nucleotide (HyenaDNA, Caduceus); the raw string is fed.
- ``kmer:K`` (stride K): non-overlapping k-mers with a single-nucleotide fallback (Nucleotide
  Transformer); the raw string is fed and the tokenizer segments it.
- ``kmer:K:S`` (S < K): overlapping k-mers (DNABERT-1, S = 1); the scorer feeds the space-separated k-mers
  ``seq[t:t+K]`` for ``t = 0, S, 2S, ...`` (:func:`overlapping_kmer_text`).
- ``bpe``: variable-length merges (DNABERT-2, GENA-LM); the raw string is fed, spans come from offsets.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from genobench_hf.errors import ConfigError, ModelError

NUCLEOTIDES = "ACGT"
# A fixed ACGT-only probe (deterministic, no repeats of period < 7) used to verify tokenizer behaviour.
PROBE = "ACGGTCATTGCAAGTCCTAGGATCGTTACAGCTTGACCATGAGTCGATACCGTAGCATTCGGACTTAGCCAGTGATCC"
_BASE_CODE = np.full(256, -1, dtype=np.int64)
for _i, _b in enumerate(NUCLEOTIDES):
    _BASE_CODE[ord(_b)] = _i


def base_codes(seq: str) -> np.ndarray:
    """A=0, C=1, G=2, T=3 per position, -1 for anything else (N), without a Python loop."""
    return _BASE_CODE[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]


@dataclass(frozen=True)
class TokenizerKind:
    """How a tokenizer cuts DNA: ``char``, fixed-frame ``kmer`` (``k``, ``stride``) or ``bpe``."""

    kind: Literal["char", "kmer", "bpe"]
    k: int | None = None
    stride: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("char", "kmer", "bpe"):
            raise ConfigError(f"unknown tokenizer kind {self.kind!r} (char, kmer:K[:STRIDE], bpe)")
        if self.kind == "kmer":
            if self.k is None or self.k < 1:
                raise ConfigError("a kmer tokenizer kind needs k >= 1, e.g. kmer:6")
            if self.stride is None:
                object.__setattr__(self, "stride", self.k)
            if not 1 <= self.stride <= self.k:  # type: ignore[operator]
                raise ConfigError(f"kmer stride must be in 1..{self.k}, got {self.stride}")
        elif self.k is not None or self.stride is not None:
            raise ConfigError(f"tokenizer kind {self.kind!r} takes no k or stride")

    @classmethod
    def parse(cls, text: str) -> TokenizerKind | None:
        """Parse ``auto`` (returns None: detect), ``char``, ``kmer:6``, ``kmer:6:1`` or ``bpe``."""
        parts = text.strip().lower().split(":")
        if parts == ["auto"]:
            return None
        if parts[0] in ("char", "bpe") and len(parts) == 1:
            return cls(parts[0])  # type: ignore[arg-type]
        if parts[0] == "kmer" and len(parts) in (2, 3):
            try:
                nums = [int(p) for p in parts[1:]]
            except ValueError:
                raise ConfigError(f"bad tokenizer kind {text!r}: k and stride must be integers") from None
            return cls("kmer", nums[0], nums[1] if len(nums) == 2 else None)
        raise ConfigError(f"bad tokenizer kind {text!r}; use auto, char, kmer:K, kmer:K:STRIDE or bpe")

    @property
    def overlapping(self) -> bool:
        """True when tokens overlap (DNABERT-1): several tokens cover one nucleotide."""
        return self.kind == "kmer" and self.stride < self.k  # type: ignore[operator]

    @property
    def fixed_frame(self) -> bool:
        """True when token boundaries never depend on which ACGT base sits at a position."""
        return self.kind in ("char", "kmer")

    def __str__(self) -> str:
        if self.kind != "kmer":
            return self.kind
        return f"kmer:{self.k}" if self.stride == self.k else f"kmer:{self.k}:{self.stride}"


@dataclass
class Alignment:
    """Token ids of one sequence and the nucleotide span ``[start, end)`` of each token.

    Arrays rather than lists, so that covering and masking stay vectorised. Special tokens have span
    ``(-1, -1)``.
    """

    input_ids: np.ndarray  # (n_tokens,) int64
    spans: np.ndarray  # (n_tokens, 2) int64

    def __len__(self) -> int:
        return len(self.input_ids)


def covering(alignment: Alignment, pos: int) -> list[int]:
    """Indices of the tokens whose span contains nucleotide ``pos``."""
    starts, ends = alignment.spans[:, 0], alignment.spans[:, 1]
    return np.flatnonzero((starts <= pos) & (pos < ends)).tolist()


def covering_pairs(alignment: Alignment, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (position index, token index) pairs where the token covers ``positions[position index]``."""
    pos = np.asarray(positions, dtype=np.int64)[:, None]
    hit = (alignment.spans[None, :, 0] <= pos) & (pos < alignment.spans[None, :, 1])
    return np.nonzero(hit)


def overlapping_kmer_text(seq: str, k: int, stride: int) -> str:
    """DNABERT-1 input: the k-mers ``seq[t:t+k]`` for ``t = 0, stride, ...`` joined by spaces."""
    return " ".join(seq[t : t + k] for t in range(0, len(seq) - k + 1, stride))


def kmer_strings(k: int) -> list[str]:
    """All ACGT k-mers in index order: offset 0 is the most significant base-4 digit."""
    return ["".join(p) for p in itertools.product(NUCLEOTIDES, repeat=k)]


def _encode(tokenizer: Any, texts: list[str], special: bool) -> list[list[int]]:
    return tokenizer(texts, add_special_tokens=special)["input_ids"]


class Aligner:
    """Feeds DNA to one tokenizer and maps tokens back to nucleotides, fast.

    Built once per scorer. Char and overlapping k-mer tokenizers use arithmetic (a lookup table, verified
    against the tokenizer on a probe); the others use the tokenizer's offsets (fast tokenizers) or the
    lengths of the token strings (slow ones), verified to tile the sequence exactly.
    """

    def __init__(self, tokenizer: Any, kind: TokenizerKind) -> None:
        self.tokenizer = tokenizer
        self.kind = kind
        self.unk_id = tokenizer.unk_token_id
        self.prefix, self.suffix = self._special_frame()
        self._lut: np.ndarray | None = None  # char: byte -> token id
        self._kmer_table: np.ndarray | None = None  # overlapping: k-mer index -> token id
        self._vocab: dict[str, int] = tokenizer.get_vocab()
        if kind.kind == "char":
            self._build_char_lut()
        elif kind.overlapping:
            vocab = self._vocab
            unk = -1 if self.unk_id is None else self.unk_id
            self._kmer_table = np.array([vocab.get(s, unk) for s in kmer_strings(kind.k)], dtype=np.int64)
            got = self.align(PROBE, special=False).input_ids.tolist()
            want = _encode(tokenizer, [self.text(PROBE)], False)[0]
            if got != want or (self._kmer_table < 0).any():
                raise ModelError(
                    f"the tokenizer does not map space-separated {kind.k}-mers one token each; "
                    f"it is not an overlapping k-mer tokenizer (try --tokenizer-kind bpe or kmer:{kind.k})"
                )

    def _special_frame(self) -> tuple[list[int], list[int]]:
        """The special ids the tokenizer puts before and after a sequence (e.g. [CLS] ... [SEP])."""
        with_sp = _encode(self.tokenizer, [self.text(PROBE)], True)[0]
        without = _encode(self.tokenizer, [self.text(PROBE)], False)[0]
        n = len(without)
        for start in range(len(with_sp) - n + 1):
            if with_sp[start : start + n] == without:
                return with_sp[:start], with_sp[start + n :]
        raise ModelError("cannot locate the sequence tokens among the special tokens the tokenizer adds")

    def _build_char_lut(self) -> None:
        alphabet = "ACGTN"
        ids = _encode(self.tokenizer, [alphabet], False)[0]
        if len(ids) != len(alphabet):
            raise ModelError(f"tokenizer of kind char split {alphabet!r} into {len(ids)} tokens, not 5")
        lut = np.full(256, -1, dtype=np.int64)
        for ch, i in zip(alphabet, ids, strict=True):
            lut[ord(ch)] = i
        self._lut = lut
        if self.align(PROBE, special=False).input_ids.tolist() != _encode(self.tokenizer, [PROBE], False)[0]:
            raise ModelError("the tokenizer does not tokenise DNA one nucleotide per token (kind char)")

    def text(self, seq: str) -> str:
        """The string given to the tokenizer for ``seq`` (spaced k-mers for overlapping kinds)."""
        if self.kind.overlapping:
            return overlapping_kmer_text(seq, self.kind.k, self.kind.stride)  # type: ignore[arg-type]
        return seq

    def align(self, seq: str, *, special: bool = True) -> Alignment:
        """Token ids and nucleotide spans of ``seq`` (with the tokenizer's special tokens if ``special``)."""
        return self.align_batch([seq], special=special)[0]

    def align_batch(self, seqs: list[str], *, special: bool = True) -> list[Alignment]:
        """Align many sequences; arithmetic kinds never call the tokenizer."""
        if self._lut is not None or self._kmer_table is not None:
            out = [self._align_arith(s) for s in seqs]
        else:
            out = self._align_tokenizer(seqs)
        return [self._frame(a) for a in out] if special else out

    def _frame(self, a: Alignment) -> Alignment:
        if not self.prefix and not self.suffix:
            return a
        ids = np.concatenate([np.array(self.prefix, np.int64), a.input_ids, np.array(self.suffix, np.int64)])
        pad = np.full((len(self.prefix), 2), -1, np.int64), np.full((len(self.suffix), 2), -1, np.int64)
        return Alignment(ids, np.concatenate([pad[0], a.spans, pad[1]]))

    def _align_arith(self, seq: str) -> Alignment:
        raw = np.frombuffer(seq.encode("ascii"), dtype=np.uint8)
        if self._lut is not None:
            ids = self._lut[raw]
            if (ids < 0).any():
                ids = np.where(ids < 0, -1 if self.unk_id is None else self.unk_id, ids)
            starts = np.arange(len(seq), dtype=np.int64)
            return Alignment(ids, np.stack([starts, starts + 1], axis=1))
        k, stride = self.kind.k, self.kind.stride
        assert self._kmer_table is not None and k is not None and stride is not None
        if len(seq) < k:
            return Alignment(np.zeros(0, np.int64), np.zeros((0, 2), np.int64))
        codes = base_codes(seq)
        windows = np.lib.stride_tricks.sliding_window_view(codes, k)[::stride]
        index = windows @ (4 ** np.arange(k - 1, -1, -1, dtype=np.int64))
        ids = np.where((windows < 0).any(axis=1), -1, self._kmer_table[np.clip(index, 0, None)])
        if (ids < 0).any():  # k-mers with N etc.: ask the vocabulary, else [UNK]
            vocab = self._vocab
            for j in np.flatnonzero(ids < 0):
                t = int(j) * stride
                ids[j] = vocab.get(seq[t : t + k], self.unk_id if self.unk_id is not None else -1)
        starts = np.arange(len(ids), dtype=np.int64) * stride
        return Alignment(ids, np.stack([starts, starts + k], axis=1))

    def _align_tokenizer(self, seqs: list[str]) -> list[Alignment]:
        tok = self.tokenizer
        if getattr(tok, "is_fast", False):
            enc = tok(seqs, add_special_tokens=False, return_offsets_mapping=True)
            pairs = zip(enc["input_ids"], enc["offset_mapping"], strict=True)
            out = [Alignment(np.array(i, np.int64), np.array(o, np.int64).reshape(-1, 2)) for i, o in pairs]
        else:  # slow tokenizers: spans from the token strings' lengths
            out = []
            for ids in _encode(tok, seqs, False):
                lengths = np.array([len(t) for t in tok.convert_ids_to_tokens(ids)], np.int64)
                ends = np.cumsum(lengths)
                out.append(Alignment(np.array(ids, np.int64), np.stack([ends - lengths, ends], axis=1)))
        for seq, a in zip(seqs, out, strict=True):
            self._verify(seq, a)
        return out

    def _verify(self, seq: str, a: Alignment) -> None:
        """The tokens must tile ``seq`` exactly and spell it ([UNK] only where the DNA has non-ACGT)."""
        s = a.spans
        tiled = len(s) > 0 and s[0, 0] == 0 and s[-1, 1] == len(seq) and (s[1:, 0] == s[:-1, 1]).all()
        if len(seq) == 0:
            tiled = len(s) == 0
        if not tiled or (s[:, 1] <= s[:, 0]).any():
            raise ModelError(
                f"the {self.kind} tokenizer does not tile the DNA sequence with non-empty tokens "
                f"(spans {s[:8].tolist()}...); genobench needs a tokenizer without a whitespace or "
                "prefix normaliser, or an explicit --tokenizer-kind"
            )
        tokens = self.tokenizer.convert_ids_to_tokens(a.input_ids.tolist())
        for tok_str, tid, (b, e) in zip(tokens, a.input_ids, s, strict=True):
            if tid == self.unk_id and set(seq[b:e]) <= set(NUCLEOTIDES):
                raise ModelError(
                    f"the tokenizer maps plain DNA {seq[b:e]!r} to {tok_str!r}; it cannot be aligned"
                )
            if tid != self.unk_id and tok_str != seq[b:e]:
                raise ModelError(
                    f"token {tok_str!r} does not spell nucleotides {b}..{e} ({seq[b:e]!r}); "
                    "the tokenizer rewrites DNA and cannot be aligned"
                )


def _nucleotide_tokens(tokenizer: Any) -> list[str]:
    """The vocabulary's DNA tokens, upper-cased (GPN's vocabulary is lower case behind a normaliser)."""
    specials = set(getattr(tokenizer, "all_special_tokens", []))
    return [
        t.upper() for t in tokenizer.get_vocab() if t and t not in specials and set(t.upper()) <= set("ACGTN")
    ]


def detect_tokenizer_kind(tokenizer: Any) -> TokenizerKind:
    """Infer the tokenizer kind from its vocabulary, then confirm it by tokenising a probe.

    Single nucleotides only = ``char``; (nearly) all ACGT k-mers of one length plus at most single
    nucleotides = ``kmer``, non-overlapping if the raw probe is cut into k-mers (Nucleotide Transformer),
    overlapping if the space-separated k-mers map one token each (DNABERT-1); anything else that tiles the
    probe = ``bpe``. An overlapping tokenizer looks the same whatever stride its model was trained with,
    so its stride is taken only from a ``kmer_stride`` the tokenizer declares (tokenizer_config.json);
    otherwise detection refuses and asks for ``--tokenizer-kind kmer:K:S`` rather than guess stride 1.
    """
    nuc = _nucleotide_tokens(tokenizer)
    lengths = Counter(len(t) for t in nuc)
    if not nuc or not set(NUCLEOTIDES) <= {t for t in nuc if len(t) == 1} | {t[0] for t in nuc}:
        raise ModelError(
            "the tokenizer's vocabulary holds no DNA tokens (A, C, G, T); if it reads DNA anyway (e.g. it "
            "lowercases), pass --tokenizer-kind char, kmer:K[:STRIDE] or bpe"
        )
    candidates: list[TokenizerKind] = []
    if set(lengths) == {1}:
        candidates.append(TokenizerKind("char"))
    else:
        k = max((n for n in lengths if n > 1), key=lambda n: lengths[n])
        vocab = tokenizer.get_vocab()
        if set(lengths) <= {1, k} and k <= 8 and sum(s in vocab for s in kmer_strings(k)) >= 0.99 * 4**k:
            candidates += [TokenizerKind("kmer", k, k), TokenizerKind("kmer", k, 1)]
    candidates.append(TokenizerKind("bpe"))
    for kind in candidates:
        try:
            a = Aligner(tokenizer, kind).align(PROBE, special=False)
        except ModelError:
            continue
        widths = a.spans[:, 1] - a.spans[:, 0]
        if kind.kind == "kmer" and not kind.overlapping:
            k = kind.k
            if not set(widths.tolist()) <= {1, k} or (widths == k).sum() < len(PROBE) // k - 1:
                continue  # the raw string is not cut into k-mers: try overlapping
        if kind.overlapping:
            return _declared_stride(tokenizer, kind)
        return kind
    raise ModelError("cannot tell how this tokenizer segments DNA; pass --tokenizer-kind")


def _declared_stride(tokenizer: Any, kind: TokenizerKind) -> TokenizerKind:
    """The overlapping kind with the stride the tokenizer declares (``kmer_stride``), else a refusal."""
    k = int(kind.k)  # type: ignore[arg-type]
    declared = getattr(tokenizer, "init_kwargs", {}).get(
        "kmer_stride", getattr(tokenizer, "kmer_stride", None)
    )
    if declared is None:
        raise ModelError(
            f"the tokenizer maps space-separated {k}-mers one token each (overlapping k-mers), but the "
            "stride its model was trained with cannot be read from the tokenizer; pass --tokenizer-kind "
            f"kmer:{k}:1 (DNABERT-1) or kmer:{k}:STRIDE"
        )
    if not isinstance(declared, int) or not 1 <= declared < k:
        raise ModelError(
            f"the tokenizer declares kmer_stride={declared!r}, not a stride in 1..{k - 1}; "
            f"pass --tokenizer-kind kmer:{k}:STRIDE"
        )
    return TokenizerKind("kmer", k, declared)


def check_fixed_frame(aligner: Aligner) -> None:
    """Assert that token boundaries do not depend on which ACGT base sits at a position.

    The fast paths segment a window with its hidden sites set to a fixed base; that is legal (and equal
    to every candidate's own segmentation) only if substituting bases never moves a boundary.
    """
    probe = PROBE[:40] + "N" + PROBE[40:]
    ref = aligner.align(probe, special=False).spans
    for pos in range(0, len(probe), 3):
        if probe[pos] == "N":
            continue
        for b in NUCLEOTIDES:
            spans = aligner.align(probe[:pos] + b + probe[pos + 1 :], special=False).spans
            if spans.shape != ref.shape or (spans != ref).any():
                raise ModelError(
                    f"token boundaries move when the base at {pos} changes: the tokenizer is not "
                    f"fixed-frame ({aligner.kind}); use --tokenizer-kind bpe"
                )
