"""The typed registry entry of one published DNA language model (family and size).

Every field records what the model card (or the Hub page) states; what it does not state is ``None``
(shown as ``unknown``) or an empty set, never a guess. ``revision=None`` means "the Hub's ``main`` at
evaluation time": the commit actually loaded is recorded in the results (``config.revision``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from genobench_hf.alignment import TokenizerKind
from genobench_hf.errors import ConfigError

Objective = Literal["masked", "causal", "seq2seq"]
KINGDOM_NAMES: tuple[str, ...] = ("PRO", "EUK", "VIR")  # the benchmark's datasets (tasks.base.KINGDOMS)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ModelEntry:
    """One published checkpoint: where it lives, how it is built and fed, what it was trained on.

    ``tokenizer`` uses the ``--tokenizer-kind`` syntax (``char``, ``kmer:6``, ``kmer:6:1``, ``bpe``) or
    ``None`` when the card does not say. ``training_kingdoms`` is the subset of PRO/EUK/VIR the training
    genomes belong to (empty: unknown); it labels in-domain vs out-of-domain datasets in ``transfer``.
    ``hub_id=None``: no transformers checkpoint is published; evaluate a converted local folder instead.
    ``import_module``: a package that registers the architecture with the Auto classes (e.g. GPN).
    """

    name: str
    family: str
    hub_id: str | None
    architecture: str
    objective: Objective
    tokenizer: str | None
    revision: str | None = None
    context_length: int | None = None  # tokens, as the card states
    parameters: int | None = None
    trust_remote_code: bool | None = None
    training_kingdoms: frozenset[str] = field(default_factory=frozenset)
    training_data: str = UNKNOWN
    license: str = UNKNOWN
    citation: str = UNKNOWN
    quirks: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    import_module: str | None = None

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip() or " " in self.name:
            raise ConfigError(f"registry name {self.name!r} must be a non-empty word")
        if self.objective not in ("masked", "causal", "seq2seq"):
            raise ConfigError(f"{self.name}: objective must be masked, causal or seq2seq")
        bad = set(self.training_kingdoms) - set(KINGDOM_NAMES)
        if bad:
            raise ConfigError(f"{self.name}: unknown kingdoms {sorted(bad)} (use {KINGDOM_NAMES})")
        object.__setattr__(self, "training_kingdoms", frozenset(self.training_kingdoms))
        if self.tokenizer is not None:
            TokenizerKind.parse(self.tokenizer)  # raises ConfigError on a bad kind

    @property
    def tokenizer_kind(self) -> TokenizerKind | None:
        return None if self.tokenizer is None else TokenizerKind.parse(self.tokenizer)

    @property
    def scoring_path(self) -> str:
        """The scorer path genobench uses (the ``scoring_path`` the results will show)."""
        kind = self.tokenizer_kind
        if self.objective == "seq2seq":
            return "seq2seq.candidate"
        if kind is None:
            return f"{self.objective} (path chosen from the tokenizer at load time)"
        if self.objective == "masked":
            return f"masked.{kind.kind}" if kind.fixed_frame else "candidate.bpe"
        if kind.kind == "char":
            return "causal.left + causal.bayes"
        return f"causal.left.{kind.kind} + causal.bayes.{kind.kind}"

    @property
    def approximate(self) -> bool:
        """True when scores are approximate (masked BPE, or seq2seq with multi-nucleotide tokens; causal
        BPE is exact Bayes over the canonical segmentation)."""
        kind = self.tokenizer_kind
        if self.objective == "seq2seq":
            return kind is None or kind.kind != "char"
        return kind is not None and kind.kind == "bpe" and self.objective == "masked"

    def trained_on(self) -> str:
        """Transfer-row label: the kingdom, kingdoms joined by ``+`` (sorted), or ``unknown``."""
        return "+".join(sorted(self.training_kingdoms)) if self.training_kingdoms else UNKNOWN

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metadata (recorded in results as ``config.model_entry``)."""
        out = asdict(self)
        out["training_kingdoms"] = sorted(self.training_kingdoms)
        out["quirks"], out["sources"] = list(self.quirks), list(self.sources)
        out["scoring_path"] = self.scoring_path
        out["approximate"] = self.approximate
        out["revision_note"] = "pinned" if self.revision else "main at evaluation time (see config.revision)"
        return out
