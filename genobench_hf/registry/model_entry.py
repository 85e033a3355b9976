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
from genobench_hf.task_config import KINGDOMS

Objective = Literal["masked", "causal", "seq2seq"]
#: how a family is exercised offline: its real package, an exact tokenizer reconstruction with a tiny
#: model of the published architecture class, or a stand-in built here (the reason says which part)
OfflineTest = Literal["package", "exact tokenizer", "stand-in", "none"]
KINGDOM_NAMES: tuple[str, ...] = KINGDOMS  # the benchmark's kingdoms (the catalog, task_config)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ModelEntry:
    """One published checkpoint: where it lives, how it is built and fed, what it was trained on.

    ``tokenizer`` uses the ``--tokenizer-kind`` syntax (``char``, ``kmer:6``, ``kmer:6:1``, ``bpe``) or
    ``None`` when the card does not say. ``training_kingdoms`` is the subset of PRO/EUK/VIR the training
    genomes belong to (empty: unknown); it labels in-domain vs out-of-domain datasets in ``transfer``.
    ``hub_id=None``: no transformers checkpoint is published; evaluate a converted local folder instead.
    ``import_module``: ``module`` or ``module:function`` that registers the architecture with the Auto
    classes (GPN: ``gpn:register_auto_classes``); ``model_types`` are the config ``model_type`` values it
    provides, so a local folder of that type is prepared the same way.
    ``external=True``: a published reference that is not a transformers model (Evo 2): listed with its
    published figures (``published_results``, a CSV path inside the package), never loaded.
    ``offline_test``/``offline_note``: what the offline tests exercise for this entry (see table.py).
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
    model_types: tuple[str, ...] = ()
    external: bool = False
    published_results: str | None = None
    offline_test: OfflineTest = "stand-in"
    offline_note: str = ""

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
        if self.offline_test not in ("package", "exact tokenizer", "stand-in", "none"):
            raise ConfigError(f"{self.name}: offline_test must be package, exact tokenizer, stand-in or none")
        if self.external and self.hub_id is not None:
            raise ConfigError(
                f"{self.name}: an external reference has no transformers checkpoint (hub_id=None)"
            )

    @property
    def tokenizer_kind(self) -> TokenizerKind | None:
        return None if self.tokenizer is None else TokenizerKind.parse(self.tokenizer)

    @property
    def scoring_path(self) -> str:
        """The scorer path genobench uses (the ``scoring_path`` the results will show)."""
        kind = self.tokenizer_kind
        if self.external:
            return "not scored (external reference: published figures only)"
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
        out["model_types"] = list(self.model_types)
        out["scoring_path"] = self.scoring_path
        out["approximate"] = self.approximate
        out["revision_note"] = "pinned" if self.revision else "main at evaluation time (see config.revision)"
        return out
