"""Load any transformers masked, causal or seq2seq (T5-style) LM with its tokenizer, and run it.

Loading is where users meet most problems (wrong folder, a base model without its head, a tokenizer
from another model, remote code), so every check here ends in a :class:`ModelError` that says what to
fix. :class:`LoadedModel` also owns the single forward routine (padding, device, autocast) that every
scoring path uses, so batch handling lives in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from genobench_hf.alignment import TokenizerKind, detect_tokenizer_kind
from genobench_hf.errors import ConfigError, ModelError
from genobench_hf.scoring.forward import (
    PAD_MULTIPLE,  # noqa: F401  (re-exported: callers import it here)
    autocast_context,
    autocast_dtype,
    bucket_widths,
    dtype_name,
    iter_buckets,
    pad_batch,
    select_log_probs,
)

ModelKind = Literal["masked", "causal", "seq2seq"]
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_REMOTE_CODE = (
    "refusing to load {spec}: it needs its own Python code (auto_map in config.json), which would run "
    "on this machine; review that code, then pass --trust-remote-code"
)
#: what AutoTokenizer reads from a folder; a folder with none of them gets a tokenizer with no vocabulary
TOKENIZER_FILES = (
    "tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "tokenizer.model", "spiece.model",
)  # fmt: skip
_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "*.safetensors.index.json", "*.bin.index.json")


@dataclass
class LoadedModel:
    """A model ready for scoring: weights, tokenizer, and the facts the scorers branch on."""

    model: Any
    tokenizer: Any
    model_kind: ModelKind
    tokenizer_kind: TokenizerKind
    name: str
    revision: str | None = None
    max_length: int | None = None  # tokens per input, special tokens included; None = unbounded
    checkpoint_dtype: str | None = None  # the dtype the weights were stored in (config.json), if known

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def causal_prefix(self) -> list[int]:
        """Ids put before a causal model's input: the tokenizer's own prefix, else BOS if it has one."""
        with_sp = self.tokenizer("A")["input_ids"]
        without = self.tokenizer("A", add_special_tokens=False)["input_ids"]
        if len(with_sp) > len(without) and with_sp[-len(without) :] == without:
            return list(with_sp[: len(with_sp) - len(without)])
        bos = self.tokenizer.bos_token_id
        return [] if bos is None else [bos]

    def check_length(self, n_tokens: int, n_nucleotides: int) -> None:
        """Refuse inputs longer than the model accepts (windows are the task's choice, not ours to cut)."""
        if self.max_length is not None and n_tokens > self.max_length:
            fits = int(n_nucleotides - (n_tokens - self.max_length) * n_nucleotides / max(n_tokens, 1))
            raise ModelError(
                f"{self.name}: a window of {n_nucleotides} nt becomes {n_tokens} tokens, but the model "
                f"accepts at most {self.max_length} tokens (about {fits} nt with this tokenizer, special "
                "tokens included); use a shorter --window"
            )

    def log_probs_at(
        self,
        inputs: Sequence[np.ndarray],
        positions: Sequence[np.ndarray],
        *,
        autocast: bool | torch.dtype | None = False,
        width: int | None = None,
        targets: Sequence[np.ndarray] | None = None,
    ) -> list[torch.Tensor]:
        """One forward over ``inputs`` right-padded to ``width`` (default: the longest); float64
        log-softmax over the FULL vocabulary at the requested positions of each input.

        Without ``targets``: a list of ``(len(positions[j]), V)`` tensors (what marginalising paths need).
        With ``targets`` (per input, token ids of shape ``(len(positions[j]),)`` or ``(len(positions[j]),
        K)``): only those log-probs, gathered on the device, so that a GPU sends back a few numbers per
        position instead of the whole vocabulary (same float64 values, bit for bit)."""
        ids, mask = pad_batch(inputs, self.tokenizer.pad_token_id, width)
        device = self.device
        with torch.inference_mode(), autocast_context(device, self._autocast_dtype(autocast)):
            out = self.model(
                input_ids=torch.from_numpy(ids).to(device), attention_mask=torch.from_numpy(mask).to(device)
            )
        logps = select_log_probs(out.logits, positions, targets)
        if any(bool(torch.isnan(t).any()) for t in logps):
            raise ModelError(non_finite_message(self.name, self.model, bool(autocast)))
        return logps

    def _autocast_dtype(self, autocast: bool | torch.dtype | None) -> torch.dtype | None:
        if isinstance(autocast, torch.dtype) or autocast is None:
            return autocast
        return autocast_dtype(self, autocast) if autocast else None

    def iter_log_probs(
        self,
        inputs: Sequence[np.ndarray],
        positions: Sequence[np.ndarray],
        batch_size: int,
        *,
        autocast: bool | torch.dtype | None = False,
        targets: Sequence[np.ndarray] | None = None,
    ) -> Iterator[tuple[np.ndarray, list[torch.Tensor]]]:
        """:meth:`log_probs_at` over batches of ``batch_size`` inputs; yields ``(indices into inputs,
        log-probs per input)`` so callers reduce each batch at once.

        Each input is padded to its own length bucket (:func:`bucket_widths`) and batches never mix
        buckets, so an input's padded shape, and hence its numbers, do not depend on the batch size or on
        its batch-mates.
        """
        for idx, w in iter_buckets(bucket_widths([len(x) for x in inputs], self.max_length), batch_size):
            batch = [inputs[j] for j in idx], [positions[j] for j in idx]
            tg = None if targets is None else [targets[j] for j in idx]
            yield idx, self.log_probs_at(*batch, autocast=autocast, width=w, targets=tg)


def non_finite_message(name: str, model: Any, autocast: bool = False) -> str:
    """Why a model's output holds NaN: the first weight tensor with NaN/inf values, or the forward pass.

    Only called once the output is bad, so scanning every parameter costs nothing on a healthy run."""
    for pname, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            return (
                f"{name}: the model's weights hold NaN or infinite values ({bad:,} of {tensor.numel():,} in "
                f"{pname!r}), so every probability would be NaN; the checkpoint is damaged or diverged"
            )
    hint = "; try without autocast/half precision (--dtype float32)" if autocast else ""
    return (
        f"{name}: the model's output holds NaN although its weights are finite "
        f"(an overflow in the forward pass){hint}"
    )


class LoadedModelScorer:
    """Set-up shared by the scorers that wrap a :class:`LoadedModel`: refuse a model of another kind, and
    resolve the tokenizer kind and the autocast dtype (``None`` = full precision) once."""

    model_kind: ModelKind

    def __init__(
        self,
        loaded: LoadedModel,
        *,
        tokenizer_kind: TokenizerKind | None = None,
        autocast: bool | str | None = None,
    ) -> None:
        if loaded.model_kind != self.model_kind:
            raise ModelError(
                f"{loaded.name} is a {loaded.model_kind} LM; {type(self).__name__} scores {self.model_kind} LMs"
            )
        self.loaded = loaded
        self.name = loaded.name
        self.tokenizer_kind = tokenizer_kind or loaded.tokenizer_kind
        self.autocast = autocast_dtype(loaded, autocast)


def _kind_from_names(names: Sequence[str]) -> ModelKind | None:
    for n in names:
        if n.endswith("ForMaskedLM"):
            return "masked"
        if n.endswith(("ForCausalLM", "LMHeadModel")):
            return "causal"
    return None


def detect_model_kind(config: Any, model: Any = None) -> ModelKind:
    """Masked or causal, from the model class, ``architectures``, ``is_decoder`` or the Auto mappings."""
    from transformers.models.auto import modeling_auto as ma

    if getattr(config, "is_encoder_decoder", False):
        return "seq2seq"  # T5-style encoder-decoder: scored span-corruption style (scoring.seq2seq)
    if model is not None:
        kind = getattr(model, "model_kind", None) or _kind_from_names([type(model).__name__])
        if kind is None:
            raise ModelError(
                f"{type(model).__name__} has no masked-LM or causal-LM head; load the ...ForMaskedLM / "
                "...ForCausalLM variant of the checkpoint"
            )
        return kind
    archs = list(getattr(config, "architectures", None) or [])
    kind = _kind_from_names(archs)
    if kind is not None:
        return kind
    if archs:
        raise ModelError(
            f"the checkpoint's architecture {archs} has no masked-LM or causal-LM head (a bare encoder?); "
            "genobench needs the model with its LM head, or pass --model-kind to load one anyway"
        )
    if getattr(config, "is_decoder", False):
        return "causal"
    in_masked = config.model_type in ma.MODEL_FOR_MASKED_LM_MAPPING_NAMES
    in_causal = config.model_type in ma.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    if in_masked or in_causal:
        return "masked" if in_masked else "causal"
    raise ModelError(f"cannot tell whether model type {config.model_type!r} is masked or causal; pass it")


def _max_length(model: Any, tokenizer: Any) -> int | None:
    cfg = model.config
    limit = next(
        (
            v
            for a in ("max_position_embeddings", "n_positions")
            if isinstance(v := getattr(cfg, a, None), int)
        ),
        None,
    )
    if (
        limit is not None
        and cfg.model_type == "esm"
        and getattr(cfg, "position_embedding_type", "") == "absolute"
    ):
        limit -= (cfg.pad_token_id or 0) + 1  # ESM numbers positions from padding_idx + 1
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and tok_limit < 1_000_000:
        limit = tok_limit if limit is None else min(limit, tok_limit)
    return limit


def wrap_model(
    model: Any,
    tokenizer: Any,
    *,
    model_kind: Literal["auto", "masked", "causal", "seq2seq"] = "auto",
    tokenizer_kind: str | TokenizerKind = "auto",
    name: str | None = None,
    revision: str | None = None,
    checkpoint_dtype: Any = None,
) -> LoadedModel:
    """Check that ``model`` and ``tokenizer`` fit each other and the scoring protocols; wrap them.

    ``checkpoint_dtype``: the dtype the weights were stored in (default: the model config's ``dtype``),
    which the autocast choice reads (:func:`choose_half_dtype`)."""
    kind: ModelKind = detect_model_kind(model.config, model) if model_kind == "auto" else model_kind
    if kind not in ("masked", "causal", "seq2seq"):
        raise ConfigError(f"model kind must be auto, masked, causal or seq2seq, not {model_kind!r}")
    if kind == "masked" and tokenizer.mask_token_id is None:
        raise ModelError("the tokenizer has no mask token, so it cannot be scored as a masked LM")
    out_emb = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    n_out = out_emb.weight.shape[0] if out_emb is not None else getattr(model.config, "vocab_size", None)
    if n_out is not None and len(tokenizer) > n_out:
        raise ModelError(
            f"the tokenizer has {len(tokenizer)} tokens but the model predicts only {n_out}: "
            "tokenizer and model do not belong together"
        )
    tk = TokenizerKind.parse(tokenizer_kind) if isinstance(tokenizer_kind, str) else tokenizer_kind
    model.eval()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        model_kind=kind,
        tokenizer_kind=tk or detect_tokenizer_kind(tokenizer),
        name=name or getattr(model.config, "_name_or_path", "") or type(model).__name__,
        revision=revision,
        max_length=_max_length(model, tokenizer),
        checkpoint_dtype=dtype_name(checkpoint_dtype or getattr(model.config, "dtype", None)),
    )


def load_model(
    spec: str | Path,
    *,
    model_kind: Literal["auto", "masked", "causal", "seq2seq"] = "auto",
    tokenizer_kind: str | TokenizerKind = "auto",
    trust_remote_code: bool = False,
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto",
    device: str | torch.device | None = None,
    revision: str | None = None,
) -> LoadedModel:
    """Load a Hub id or local folder as a masked or causal LM (auto-detected unless given).

    ``dtype="auto"`` keeps fp32 on CPU (use autocast for speed) and the checkpoint's dtype elsewhere.
    Safetensors weights are preferred when present.
    """
    from safetensors import SafetensorError
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForMaskedLM,
        AutoModelForSeq2SeqLM,
        AutoTokenizer,
    )

    import genobench_hf.models  # noqa: F401  (registers genobench's own architectures with the Auto classes)
    from genobench_hf.models.remote_code import is_native

    if dtype not in ("auto", *_DTYPES):
        raise ConfigError(f"dtype must be auto, float32, bfloat16 or float16, not {dtype!r}")
    spec_s = str(spec)
    path = Path(spec_s)
    use_safetensors: bool | None = None
    if not path.exists() and (spec_s.startswith((".", "/", "~")) or spec_s.count("/") > 1):
        raise ModelError(f"{spec_s}: no such model folder (and not a Hub id of the form owner/name)")
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelError(f"{path}: no config.json; not a transformers model folder")
        if not any(any(path.glob(p)) for p in _WEIGHT_FILES):
            raise ModelError(f"{path}: no weights (*.safetensors or pytorch_model.bin) beside config.json")
        if not any((path / name).is_file() for name in TOKENIZER_FILES):
            raise ModelError(
                f"{path}: no tokenizer files (looked for {', '.join(TOKENIZER_FILES)}); save the model's "
                "tokenizer into the folder, e.g. tokenizer.save_pretrained(folder)"
            )
        use_safetensors = True if any(path.glob("*.safetensors")) else None
        local_config = json.loads((path / "config.json").read_text())
        if local_config.get("auto_map") and not trust_remote_code and not is_native(local_config):
            raise ModelError(_REMOTE_CODE.format(spec=path))  # genobench's own folders load natively
        from genobench_hf.registry import prepare_architecture

        prepare_architecture(local_config.get("model_type"))  # e.g. GPN's ConvNet, registered by its package
    try:
        config = AutoConfig.from_pretrained(spec_s, trust_remote_code=trust_remote_code, revision=revision)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the config of {spec_s!r}: {exc}") from exc
    if getattr(config, "auto_map", None) and not trust_remote_code and not is_native(config.to_dict()):
        raise ModelError(_REMOTE_CODE.format(spec=spec_s))
    kind: ModelKind = detect_model_kind(config) if model_kind == "auto" else model_kind
    stored_dtype = getattr(config, "dtype", None)  # before loading in another dtype rewrites it
    autos = {"masked": AutoModelForMaskedLM, "causal": AutoModelForCausalLM, "seq2seq": AutoModelForSeq2SeqLM}
    auto_cls = autos[kind]
    dev = torch.device(device) if device is not None else torch.device("cpu")
    torch_dtype: Any = _DTYPES.get(dtype, torch.float32 if dev.type == "cpu" else "auto")
    try:
        model, info = auto_cls.from_pretrained(
            spec_s, config=config, dtype=torch_dtype, trust_remote_code=trust_remote_code,
            use_safetensors=use_safetensors, revision=revision, output_loading_info=True,
        )  # fmt: skip
        tokenizer = AutoTokenizer.from_pretrained(
            spec_s, trust_remote_code=trust_remote_code, revision=revision
        )
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        # corrupted safetensors, a config whose vocabulary does not fit the weights, a broken tokenizer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load {spec_s!r} as a {kind} LM ({type(exc).__name__}: {first})") from exc
    if info.get("missing_keys"):
        missing = sorted(info["missing_keys"])
        raise ModelError(
            f"{spec_s}: the checkpoint has no weights for {missing[:4]}{'...' if len(missing) > 4 else ''}; "
            f"it lacks the {kind}-LM head (a base model?) and would be scored with random weights"
        )
    return wrap_model(
        model.to(dev),
        tokenizer,
        model_kind=kind,
        tokenizer_kind=tokenizer_kind,
        name=spec_s,
        revision=revision or getattr(config, "_commit_hash", None),
        checkpoint_dtype=stored_dtype,
    )
