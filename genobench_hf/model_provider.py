"""Turn ``--model`` into scorers: a transformers checkpoint, or the ``markov:K`` baseline per kingdom.

A transformers model is one scorer for every dataset. The Markov chain is fitted on the train split of
the evaluated dataset's kingdom (PRO for PRO and PRO_reads), so it is one scorer per kingdom. Fitted
chains and the automatic order selection are cached on disk by content (``markov_select.MarkovCache``):
a second evaluation on the same data neither refits nor reselects. The same chains serve as the
baseline shown beside every model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from genobench_hf.errors import ConfigError
from genobench_hf.execution import fingerprint
from genobench_hf.scoring.base import Scorer
from genobench_hf.tasks.base import KINGDOMS, kingdom_of
from genobench_hf.tasks.sampling import model_alphabet

if TYPE_CHECKING:
    from genobench_hf.runner import EvalConfig
    from genobench_hf.store import DatasetStore

MARKOV_ORDERS = tuple(range(1, 13))


def parse_markov(spec: str) -> int | bool | None:
    """``markov``/``markov:auto`` -> None (order chosen on validation), ``markov:K`` -> K, else False."""
    if spec != "markov" and not spec.startswith("markov:"):
        return False
    value = spec.partition(":")[2] or "auto"
    if value == "auto":
        return None
    if not value.isdigit() or not 0 <= int(value) <= 16:
        raise ConfigError(f"--model {spec!r}: the Markov order must be 'auto' or an integer 0..16")
    return int(value)


def _identity_of(spec: str, revision: str | None, name: str) -> dict[str, Any]:
    """The content identity of a loaded checkpoint (:func:`genobench_hf.content.model_identity`); when it
    cannot be known, a fresh nonce, so that no cached chunk is ever reused for it."""
    import uuid
    import warnings

    from genobench_hf.content import model_identity

    identity = model_identity(spec, revision)
    if identity["kind"] == "unknown":
        warnings.warn(
            f"{name}: neither a local folder nor a resolved Hub commit, so its content cannot be "
            "identified; cached scores will not be reused",
            stacklevel=2,
        )
        identity["nonce"] = uuid.uuid4().hex
    return identity


class ModelProvider:
    """Creates (once) and hands out the scorer for each dataset, plus the baselines."""

    def __init__(self, config: EvalConfig, store: DatasetStore, *, device: str, cache_dir: Path) -> None:
        self.config = config
        self.store = store
        self.device = device
        self.cache_dir = cache_dir
        self._markov: dict[tuple[str, int | None], Scorer] = {}
        self._identity: dict[int, dict[str, Any]] = {}
        self._markov_order = parse_markov(config.model)
        self._loaded: Any = None
        self._scorer: Scorer | None = None
        self._entry: Any = None  # the registry entry (genobench_hf.registry.ModelEntry) of --model, if any
        self._model_identity: dict[str, Any] | None = None
        if self._markov_order is False:
            self._load_transformers()

    # -- transformers --------------------------------------------------------------------------
    def _load_transformers(self) -> None:
        from genobench_hf.registry import resolve_model
        from genobench_hf.scoring.causal import CausalLMScorer
        from genobench_hf.scoring.frames import FRAME_RULE
        from genobench_hf.scoring.loading import load_model
        from genobench_hf.scoring.masked import MaskedLMScorer
        from genobench_hf.scoring.seq2seq import Seq2SeqScorer

        cfg = self.config
        # a registry name (or registered Hub id) -> its Hub id, revision and settings; flags win over them
        res = resolve_model(
            cfg.model,
            model_kind=cfg.model_kind,
            tokenizer_kind=cfg.tokenizer_kind,
            trust_remote_code=cfg.trust_remote_code,
        )
        self._entry = res.entry
        loaded = load_model(
            res.spec,
            model_kind=res.model_kind,  # type: ignore[arg-type]
            tokenizer_kind=res.tokenizer_kind,  # the flag (or the registry entry) governs; auto = detect
            trust_remote_code=cfg.trust_remote_code,
            dtype=cfg.dtype,
            device=self.device,
            revision=res.revision,
        )
        if loaded.model_kind == "masked":
            scorer: Scorer = MaskedLMScorer(loaded)
        elif loaded.model_kind == "seq2seq":
            scorer = Seq2SeqScorer(loaded)
        else:
            scorer = CausalLMScorer(loaded, right_context=cfg.right_context)
        self._loaded = loaded
        self._scorer = scorer
        self._model_identity = _identity_of(res.spec, res.revision, cfg.model)
        self._identity[id(scorer)] = {
            "model": cfg.model,
            **({"spec": res.spec} if res.entry is not None else {}),
            "revision": self._model_identity.get("commit") or getattr(loaded, "revision", None),
            "content": self._model_identity,
            "model_kind": loaded.model_kind,
            "tokenizer_kind": str(loaded.tokenizer_kind),
            "frame_rule": FRAME_RULE,
            "dtype": cfg.dtype,
            "right_context": cfg.right_context,
        }

    # -- Markov ----------------------------------------------------------------------------------
    def markov(self, kingdom: str, order: int | None) -> Scorer:
        """The chain of ``kingdom`` (fitted on its train split, order chosen on validation if None)."""
        key = (kingdom, order)
        if key in self._markov:
            return self._markov[key]
        from genobench_hf.scoring.markov import MarkovScorer
        from genobench_hf.scoring.markov_select import MarkovCache

        train = [model_alphabet(r["sequence"]) for r in self.store.rows(kingdom, "train")]
        if not train:
            raise ConfigError(
                f"dataset {kingdom} has no train split to fit the Markov baseline on (an evaluation-only "
                "build?); score a model trained elsewhere with --baseline none"
            )
        data_fp = self.store.fingerprint(kingdom)
        cache = MarkovCache(self.cache_dir / "markov")  # content-addressed: reused across evaluations
        selection: dict[int, float] | None = None
        if order is None:
            valid = [model_alphabet(r["sequence"]) for r in self.store.rows(kingdom, "validation")]
            model, chosen, selection = cache.auto(train, valid, MARKOV_ORDERS, seed=self.config.task.seed)
        else:
            model, chosen = cache.fit(train, order), order
        scorer = MarkovScorer(model)
        self._markov[key] = scorer
        self._identity[id(scorer)] = {
            "model": f"markov:{chosen}",
            "kingdom": kingdom,
            "data": data_fp,
            "order_selection_bits": selection,
        }
        return scorer

    # -- what the runner asks ----------------------------------------------------------------------
    def scorer_for(self, dataset: str) -> Scorer:
        if self._scorer is not None:
            return self._scorer
        order = self._markov_order
        return self.markov(kingdom_of(dataset), None if order is None else int(order))

    def baselines(self, dataset: str) -> dict[str, Scorer]:
        spec = self.config.baseline
        if not spec or spec == "none":
            return {}
        order = parse_markov(spec)
        if order is False:
            raise ConfigError(
                f"--baseline {spec!r}: only markov baselines are supported ('markov:K', 'none')"
            )
        return {"markov": self.markov(kingdom_of(dataset), order)}  # type: ignore[arg-type]

    @property
    def loaded(self) -> Any:
        """The loaded transformers model (``LoadedModel``), or None for the Markov baseline."""
        return self._loaded

    def trained_on(self) -> str:
        """The kingdom(s) a neural model was trained on: its registry entry's (``EUK+PRO`` when several),
        else its config's ``genobench_trained_on``, else unknown."""
        if self._entry is not None:
            return self._entry.trained_on()
        config = getattr(getattr(self._loaded, "model", None), "config", None)
        value = getattr(config, "genobench_trained_on", None)
        return str(value) if value else "unknown"

    def transfer_rows(self, dataset: str) -> dict[str, Scorer]:
        """Scorers by training kingdom: all three Markov chains, or the one neural model's own row."""
        if self._scorer is not None:
            return {self.trained_on(): self._scorer}
        order = None if self._markov_order is None else int(self._markov_order)
        return {
            k: self.markov(k, order) for k in KINGDOMS if self.store.has(k) and self.store.rows(k, "train")
        }

    def markov_summary(self) -> dict[str, Any]:
        """Order (and validation bits per order when chosen automatically) of every chain fitted."""
        return {
            ident["kingdom"]: {"model": ident["model"], "order_selection_bits": ident["order_selection_bits"]}
            for ident in self._identity.values()
            if "kingdom" in ident
        }

    def identity(self, scorer: Scorer) -> dict[str, Any]:
        return self._identity.get(id(scorer), {"name": scorer.name})

    def describe(self) -> dict[str, Any]:
        if self._scorer is None:
            return {"model_kind": "markov", "tokenizer_kind": "char", "revision": None}
        ident = self._identity[id(self._scorer)]
        loaded = self._loaded
        return {
            "model_kind": ident["model_kind"],
            "tokenizer_kind": ident["tokenizer_kind"],
            "revision": ident["revision"],
            "frame_rule": ident["frame_rule"],
            "max_length": getattr(loaded, "max_length", None),
            "model_fingerprint": fingerprint(ident),
            "model_identity": self._model_identity,
            "model_entry": None if self._entry is None else self._entry.to_dict(),
        }
