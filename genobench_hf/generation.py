"""Left-to-right generation over A, C, G, T in time linear in the length generated.

One loop (:func:`decode`) serves every model kind; what differs is how a model turns "the prompt, then
one more nucleotide" into the next distribution (a :class:`Stepper`):

* ``kv`` (transformers causal LMs with a cache, e.g. GPT-2, Llama): the prompt once with ``use_cache``,
  then one token per step with ``past_key_values``.
* ``state`` (genobench's ``lstm``/``lstm_stateful``: the recurrent ``(h, c)``; genobench's ``transformer``:
  its key/value cache carried in the same ``state`` argument).
* ``window`` (genobench's ``cnn``/``cnn_dilated``): the last ``receptive field`` tokens, which is exact
  for a causal convolution stack and costs a constant per step.
* ``recompute`` (anything else with a char tokenizer, and the reference the benchmark measures against):
  the whole prefix again at every step - quadratic, but exact for any causal model.
* :class:`ScorerGenerator`: ``next_nucleotide`` through any :class:`~genobench_hf.scoring.base.Scorer`
  (k-mer/BPE causal tokenizers, where one nucleotide is not one token); quadratic.
* :class:`MarkovGenerator`: the chain's left-only probabilities from the last K bases (linear).

Distributions are the model's next-token probabilities restricted to A, C, G, T and renormalised (the
same quantity as ``next_nucleotide`` scoring). Greedy (``temperature == 0``) takes the argmax; sampling
keeps the ``top_k`` most probable of the four bases, divides the log-probabilities by ``temperature`` and
draws with a uniform from the request's own seeded stream, so a generation does not depend on the batch
it ran in or on how many processes ran.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.scoring.base import BASES, Scorer, ScoreRequest

MODES = ("auto", "kv", "state", "window", "recompute")
_CODES = np.full(256, 4, dtype=np.uint8)
_CODES[[ord(b) for b in BASES]] = np.arange(4, dtype=np.uint8)


@dataclass(frozen=True)
class Sampling:
    """``temperature == 0`` is greedy decoding; ``top_k`` (1..4) counts bases among A, C, G, T."""

    temperature: float = 0.0
    top_k: int = 4

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")
        if not 1 <= self.top_k <= 4:
            raise ConfigError(f"top_k counts bases among A, C, G, T: 1..4, got {self.top_k}")


@dataclass(frozen=True)
class GenerationRequest:
    """Continue ``prompt`` (model alphabet) by ``n_new`` nucleotides; ``seed`` names its random stream."""

    prompt: str
    n_new: int
    seed: int = 0


class Stepper(Protocol):
    """How one model kind extends a batch of equally long prompts one nucleotide at a time."""

    def start(self, prompts: Sequence[str]) -> tuple[np.ndarray, Any]:
        """(B, 4) log-probabilities over A, C, G, T of the base after each prompt, and the state."""
        ...

    def step(self, state: Any, bases: np.ndarray) -> tuple[np.ndarray, Any]:
        """Append ``bases`` (B,) codes 0..3; the next (B, 4) log-probabilities and the new state."""
        ...


def choose(logp: np.ndarray, sampling: Sampling, uniforms: np.ndarray | None) -> np.ndarray:
    """Next base per row of ``logp`` (B, 4): argmax, or a top-k / temperature draw with ``uniforms``."""
    if sampling.temperature == 0 or uniforms is None:
        return logp.argmax(axis=1)
    scaled = logp / sampling.temperature
    if sampling.top_k < 4:
        kth = np.sort(scaled, axis=1)[:, 4 - sampling.top_k][:, None]
        scaled = np.where(scaled >= kth, scaled, -np.inf)
    p = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    cdf = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((cdf < uniforms[:, None]).sum(axis=1), 3)


@contextlib.contextmanager
def step_threads() -> Iterator[None]:
    """Run one-token forwards on ``$GENOBENCH_GENERATION_THREADS`` CPU threads (default 1): they are too
    small to split, and extra threads only contend (a 0.1M-parameter LSTM took 201 ms per step with 2
    threads vs 9.7 ms with 1 on a loaded 2-core machine). GPU work is unaffected."""
    before = torch.get_num_threads()
    wanted = int(os.environ.get("GENOBENCH_GENERATION_THREADS", "1") or 1)
    torch.set_num_threads(max(1, wanted))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def decode(
    stepper: Stepper,
    requests: Sequence[GenerationRequest],
    sampling: Sampling,
    batch_size: int,
    *,
    same_length: bool = True,
) -> list[str]:
    """Generate for every request, batching prompts of equal length (no padding, so every number is the
    one the model gives the prompt alone) and similar ``n_new``."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    out = [""] * len(requests)
    keys = [(len(r.prompt) if same_length else 0, r.n_new, i) for i, r in enumerate(requests)]
    order = [k[2] for k in sorted(keys)]
    groups: list[list[int]] = []
    for i in order:
        last = groups[-1] if groups else None
        fits = last and len(last) < batch_size and keys[last[0]][0] == keys[i][0]
        if fits:
            last.append(i)  # type: ignore[union-attr]
        else:
            groups.append([i])
    for group in groups:
        batch = [requests[i] for i in group]
        steps = max(r.n_new for r in batch)
        if steps == 0:
            continue
        check = getattr(stepper, "check", None)
        if check is not None:  # refuse a too long generation before spending any compute on it
            check(max(len(r.prompt) + r.n_new for r in batch))
        uniforms = None
        if sampling.temperature > 0:
            uniforms = np.stack([np.random.default_rng(r.seed).random(steps) for r in batch])
        logp, state = stepper.start([r.prompt for r in batch])
        chosen = np.empty((len(batch), steps), dtype=np.int64)
        with step_threads():
            for t in range(steps):
                chosen[:, t] = choose(logp, sampling, None if uniforms is None else uniforms[:, t])
                if t + 1 < steps:
                    logp, state = stepper.step(state, chosen[:, t])
        for j, (i, r) in enumerate(zip(group, batch, strict=True)):
            out[i] = "".join(BASES[c] for c in chosen[j, : r.n_new])
    return out


class CausalStepper:
    """A transformers causal LM with a single-nucleotide tokenizer, in one of the four modes."""

    def __init__(self, loaded: Any, mode: str, *, autocast: bool = False) -> None:
        from genobench_hf.alignment import NUCLEOTIDES, Aligner

        self.loaded, self.mode, self.autocast = loaded, mode, autocast
        aligner = Aligner(loaded.tokenizer, loaded.tokenizer_kind)
        self.acgt = torch.as_tensor(aligner.align(NUCLEOTIDES, special=False).input_ids)
        self.aligner = aligner
        self.prefix = list(loaded.causal_prefix())
        self.field = receptive_field(loaded.model) if mode == "window" else None

    def check(self, n_nucleotides: int) -> None:
        """ModelError if a prompt + generation of ``n_nucleotides`` exceeds the model's context."""
        self.loaded.check_length(len(self.prefix) + n_nucleotides, n_nucleotides)

    def _forward(self, ids: torch.Tensor, **kw: Any) -> Any:
        device = self.loaded.device
        ctx: Any = contextlib.nullcontext()
        if self.autocast:
            ctx = torch.autocast(device.type, dtype=torch.bfloat16 if device.type == "cpu" else torch.float16)
        with torch.inference_mode(), ctx:
            return self.loaded.model(input_ids=ids.to(device), **kw)

    def _acgt(self, logits: torch.Tensor) -> np.ndarray:
        full = torch.log_softmax(logits.to(torch.float64), dim=-1)[:, self.acgt.to(logits.device)]
        return (full - torch.logsumexp(full, dim=-1, keepdim=True)).cpu().numpy()

    def start(self, prompts: Sequence[str]) -> tuple[np.ndarray, Any]:
        rows = [self.prefix + list(self.aligner.align(p, special=False).input_ids) for p in prompts]
        if not rows[0]:
            raise ModelError(f"{self.loaded.name}: nothing to condition on (empty prompt and no BOS token)")
        ids = torch.as_tensor(np.array(rows, dtype=np.int64))
        kw: dict[str, Any] = {}
        if self.mode == "kv":
            kw["use_cache"] = True
            self.cache_arg = cache_argument(self.loaded.model)
        elif self.mode == "state":
            kw["state"] = [] if _is_transformer(self.loaded.model) else None
        fed = ids[:, -self.field :] if self.field else ids
        self.loaded.check_length(ids.shape[1], ids.shape[1] - len(self.prefix))
        out = self._forward(fed, **kw)
        state = {"kv": _cache_of(out) if self.mode == "kv" else None, "state": getattr(out, "state", None)}
        if self.mode in ("kv", "state") and state[self.mode] is None:
            raise ModelError(
                f"{self.loaded.name} returned no {self.mode} cache; use generation mode recompute"
            )
        return self._acgt(out.logits[:, -1]), {
            "ids": ids if self.mode in ("window", "recompute") else None,
            "n": ids.shape[1],
            **state,
        }

    def step(self, state: Any, bases: np.ndarray) -> tuple[np.ndarray, Any]:
        new = self.acgt[torch.as_tensor(bases)][:, None]
        n = state["n"] + 1
        self.loaded.check_length(n, n - len(self.prefix))
        if self.mode == "kv":
            out = self._forward(new, **{self.cache_arg: state["kv"]}, use_cache=True)
            return self._acgt(out.logits[:, -1]), {**state, "n": n, "kv": _cache_of(out)}
        if self.mode == "state":
            out = self._forward(new, state=state["state"])
            return self._acgt(out.logits[:, -1]), {**state, "n": n, "state": out.state}
        ids = torch.cat((state["ids"], new), dim=1)
        if self.field:  # window: only the receptive field is ever fed again, so only it is kept
            ids = ids[:, -self.field :]
        return self._acgt(self._forward(ids).logits[:, -1]), {**state, "n": n, "ids": ids}


def _cache_of(output: Any) -> Any:
    """The key/value cache of a model output (``cache`` from transformers 5.24, else ``past_key_values``)."""
    keys = output.keys() if hasattr(output, "keys") else ()
    name = "cache" if "cache" in keys else "past_key_values"
    return output.get(name) if hasattr(output, "get") else getattr(output, name, None)


def _is_transformer(model: Any) -> bool:
    return getattr(model.config, "arch", "") == "transformer"


def receptive_field(model: Any) -> int:
    """Tokens a genobench convolution stack's last output depends on (exact: causal, left-padded)."""
    cfg = model.config
    if cfg.arch == "cnn":
        return 1 + cfg.num_layers * (cfg.kernel_size - 1)
    if cfg.arch == "cnn_dilated":
        return 1 + sum((cfg.kernel_size - 1) * d for d in cfg.dilations)
    raise ModelError(f"no receptive field for arch {cfg.arch!r}")


def cache_mode(loaded: Any) -> str:
    """The linear mode a causal model supports (``recompute`` where none is known to be exact)."""
    model = loaded.model
    arch = (
        getattr(model.config, "arch", None)
        if getattr(model.config, "model_type", "").startswith("genobench")
        else None
    )
    if arch in ("lstm", "lstm_stateful", "transformer"):
        return "state"
    if arch in ("cnn", "cnn_dilated"):
        return "window"
    if arch is not None:  # cnn_lstm: the convolution has no cache and the LSTM needs its features
        return "recompute"
    if cache_argument(model) and getattr(model.config, "use_cache", True) is not False:
        return "kv"
    return "recompute"


def cache_argument(model: Any) -> str | None:
    """The forward argument that takes a key/value cache: ``cache`` (transformers >= 5.24) or
    ``past_key_values`` (earlier, and most remote-code models); None if the forward has neither."""
    import inspect

    params = inspect.signature(model.forward).parameters
    return next((a for a in ("cache", "past_key_values") if a in params), None)


class Generator:
    """Generation for one scorer's model; ``name`` and ``mode`` go into results and cache keys."""

    def __init__(self, name: str, mode: str, stepper: Stepper, *, same_length: bool = True) -> None:
        self.name, self.mode, self.stepper, self.same_length = name, mode, stepper, same_length

    def generate(
        self, requests: Sequence[GenerationRequest], sampling: Sampling, batch_size: int = 16
    ) -> list[str]:
        return decode(self.stepper, requests, sampling, batch_size, same_length=self.same_length)


def causal_generator(loaded: Any, mode: str = "auto", *, autocast: bool = False) -> Generator:
    """A :class:`Generator` for a loaded causal LM with a single-nucleotide tokenizer."""
    if mode not in MODES:
        raise ConfigError(f"generation mode must be one of {', '.join(MODES)}, not {mode!r}")
    if loaded.model_kind != "causal":
        raise ModelError(
            f"{loaded.name} is a {loaded.model_kind} LM; left-to-right generation needs a causal LM"
        )
    if loaded.tokenizer_kind.kind != "char":
        raise ModelError(f"{loaded.name}: cached generation needs a single-nucleotide tokenizer")
    chosen = cache_mode(loaded) if mode == "auto" else mode
    return Generator(loaded.name, chosen, CausalStepper(loaded, chosen, autocast=autocast))


class _ScorerStepper:
    """``next_nucleotide`` through a scorer over the whole prefix at every step (quadratic)."""

    def __init__(self, scorer: Scorer, batch_size: int = 16) -> None:
        self.scorer, self.batch_size = scorer, batch_size

    def _score(self, seqs: list[str]) -> np.ndarray:
        reqs = [ScoreRequest(s + "A", (len(s),), "next_nucleotide") for s in seqs]
        probs = np.stack([r.probs[0] for r in self.scorer.score(reqs, self.batch_size)])
        return np.log(np.clip(probs, 1e-300, None))

    def start(self, prompts: Sequence[str]) -> tuple[np.ndarray, Any]:
        return self._score(list(prompts)), list(prompts)

    def step(self, state: Any, bases: np.ndarray) -> tuple[np.ndarray, Any]:
        seqs = [s + BASES[b] for s, b in zip(state, bases.tolist(), strict=True)]
        return self._score(seqs), seqs


class _MarkovStepper:
    """An order-K chain's left-only distribution from the last K bases (constant cost per step)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.k = int(model.order)

    def _probs(self, ctx: np.ndarray) -> np.ndarray:
        b = len(ctx)
        x = np.concatenate((ctx, np.full((b, 1), 4, dtype=np.uint8)), axis=1).reshape(-1)
        pos = np.arange(b) * (self.k + 1) + self.k
        return np.log(self.model.score_positions(x, pos, two_sided=False))

    def start(self, prompts: Sequence[str]) -> tuple[np.ndarray, Any]:
        ctx = np.full((len(prompts), self.k), 4, dtype=np.uint8)
        for j, p in enumerate(prompts):
            tail = (
                _CODES[np.frombuffer(p.encode("ascii"), dtype=np.uint8)][len(p) - self.k :] if self.k else []
            )
            if len(tail):
                ctx[j, self.k - len(tail) :] = tail
        return self._probs(ctx), ctx

    def step(self, state: Any, bases: np.ndarray) -> tuple[np.ndarray, Any]:
        if self.k == 0:
            return self._probs(state), state
        ctx = np.concatenate((state[:, 1:], bases.astype(np.uint8)[:, None]), axis=1)
        return self._probs(ctx), ctx


class _UniformStepper:
    """Chance: every base 1/4 (the reference row a model must beat)."""

    def start(self, prompts: Sequence[str]) -> tuple[np.ndarray, Any]:
        return np.full((len(prompts), 4), np.log(0.25)), None

    def step(self, state: Any, bases: np.ndarray) -> tuple[np.ndarray, Any]:
        return np.full((len(bases), 4), np.log(0.25)), None


def uniform_generator() -> Generator:
    return Generator("chance", "uniform", _UniformStepper(), same_length=False)


def generator_for(scorer: Scorer, mode: str = "auto") -> Generator | None:
    """The generator of a scorer: cached for char causal LMs, the chain for Markov, the scorer's own
    ``next_nucleotide`` otherwise (k-mer/BPE causal LMs; also masked BPE and seq2seq models, which
    span_imputation has always decoded this way); None where the scorer has no ``next_nucleotide``."""
    loaded = getattr(scorer, "loaded", None)
    model = getattr(scorer, "model", None)
    if loaded is not None and loaded.model_kind == "causal" and loaded.tokenizer_kind.kind == "char":
        return causal_generator(loaded, mode, autocast=bool(getattr(scorer, "autocast", False)))
    if model is not None and hasattr(model, "score_positions") and hasattr(model, "order"):
        return Generator(scorer.name, "markov", _MarkovStepper(model), same_length=False)
    if scorer.skip_reason("next_nucleotide") is None:
        return Generator(scorer.name, "recompute", _ScorerStepper(scorer), same_length=False)
    return None
