"""genobench's baseline architectures as ``PreTrainedModel`` classes.

All share one skeleton (nucleotide embedding -> backbone from :mod:`genobench_hf.models.layers` -> linear
LM head); each arch is a thin subclass that names its config class, so ``save_pretrained`` /
``AutoModelFor{Causal,Masked}LM.from_pretrained`` work once :mod:`genobench_hf.models` is imported.

Causal heads follow the HF convention: ``logits[:, t]`` predicts token ``t + 1``; ``labels`` are the
input ids (shifted inside), ``-100`` and padding (``attention_mask == 0``) are ignored. Recurrent archs
also take and return ``state`` (LSTM ``(h, c)``) for truncated BPTT; without it every call starts from a
zero state, which is how scoring uses them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import CausalLMOutput, MaskedLMOutput

from .errors_genobench import ModelError
from .configuration_genobench import (
    GenobenchCnnConfig,
    GenobenchCnnDilatedConfig,
    GenobenchCnnLstmConfig,
    GenobenchConfig,
    GenobenchLstmConfig,
    GenobenchLstmStatefulConfig,
    GenobenchTransformerConfig,
)
from .layers_genobench import build_backbone


@dataclass
class GenobenchCausalLMOutput(CausalLMOutput):
    """``CausalLMOutput`` plus the recurrent ``state`` after the last position (None for non-recurrent)."""

    state: Any = None
    cache: Any = None  # per-block (keys, values) with ``use_cache`` (transformers >= 5.2x's name)


def token_nll(
    logits: torch.Tensor, labels: torch.Tensor, attention_mask: torch.Tensor | None = None, *, shift: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence summed negative log-likelihood (nats, fp32) and number of scored tokens, shapes
    ``(B,)``; ``shift`` for causal LMs (logits at t score label t + 1). Training loss and validation
    bits/nt both come from here."""
    if attention_mask is not None:
        labels = labels.masked_fill(attention_mask == 0, -100)
    if shift:
        logits, labels = logits[:, :-1], labels[:, 1:]
    nll = F.cross_entropy(logits.transpose(1, 2).float(), labels, ignore_index=-100, reduction="none")
    return nll.sum(dim=1), (labels != -100).sum(dim=1)


def _mean_loss(nll: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    return nll.sum() / n.sum().clamp(min=1)


class GenobenchPreTrainedModel(PreTrainedModel):
    """Common base: config class, weight init (PyTorch's defaults, kept), embedding accessors."""

    config_class = GenobenchConfig
    base_model_prefix = "genobench"
    main_input_name = "input_ids"
    causal: ClassVar[bool] = True

    def __init__(self, config: GenobenchConfig) -> None:
        super().__init__(config)
        arch = getattr(config, "arch", "")
        if arch == "transformer" and config.objective != ("clm" if self.causal else "mlm"):
            raise ModelError(
                f"this transformer checkpoint was built with objective={config.objective!r}; load it with "
                f"AutoModelFor{'CausalLM' if config.objective == 'clm' else 'MaskedLM'}"
            )
        self.embed = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.backbone = build_backbone(config, causal=self.causal)
        self.drop = nn.Dropout(config.dropout)
        self.lm_head = nn.Linear(self.backbone.out_dim, config.vocab_size)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """Modules keep the initialisation of their PyTorch constructors (fine for these small nets)."""

    def get_input_embeddings(self) -> nn.Module:
        return self.embed

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.embed = value

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.lm_head = value

    def _run(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, state: Any
    ) -> tuple[torch.Tensor, Any]:
        h, state = self.backbone(self.embed(input_ids), attention_mask, state)
        return self.lm_head(self.drop(h)), state


class GenobenchForCausalLM(GenobenchPreTrainedModel):
    """Next-nucleotide head shared by every causal arch."""

    model_kind = "causal"

    @property
    def resumable_state(self) -> bool:
        """Whether ``state`` alone continues a sequence exactly (an LSTM, or causal convolutions whose
        state is their last receptive-field inputs): then
        ``use_cache=True`` returns each row's state after its last unpadded position and a scorer may
        run a shared prefix once and its continuations from :meth:`repeat_state` of it."""
        return bool(getattr(self.backbone, "resumable", False))

    def repeat_state(self, state: Any, times: int) -> Any:
        """Each row's state ``times`` times (row j -> rows j*times ..), in the backbone's layout."""
        return self.backbone.repeat_state(state, times)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        state: Any = None,
        cache: Any = None,
        past_key_values: Any = None,
        position_ids: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **_: Any,
    ) -> GenobenchCausalLMOutput:
        """``state``: see the module docstring. ``use_cache`` / ``cache`` (alias ``past_key_values``) /
        ``position_ids``: the transformers cache face, for the transformer (a tuple of per-block keys and
        values, masked by a 2-D ``attention_mask`` over past + new positions) and, as ``state``, for a
        resumable LSTM."""
        past_key_values = cache if cache is not None else past_key_values
        past = None
        if use_cache or past_key_values is not None:
            if hasattr(self.backbone, "forward_cached"):
                h, past = self.backbone.forward_cached(
                    self.embed(input_ids), attention_mask, position_ids, past_key_values
                )
                logits = self.lm_head(self.drop(h))
            elif self.resumable_state:
                h, state = self.backbone(self.embed(input_ids), attention_mask, state, at_mask=True)
                logits = self.lm_head(self.drop(h))
            else:
                logits, state = self._run(input_ids, attention_mask, state)
        else:
            logits, state = self._run(input_ids, attention_mask, state)
        loss = None
        if labels is not None:
            loss = _mean_loss(*token_nll(logits, labels, attention_mask, shift=True))
        return GenobenchCausalLMOutput(loss=loss, logits=logits, state=state, cache=past)


class GenobenchLstmForCausalLM(GenobenchForCausalLM):
    config_class = GenobenchLstmConfig


class GenobenchLstmStatefulForCausalLM(GenobenchForCausalLM):
    config_class = GenobenchLstmStatefulConfig


class GenobenchCnnForCausalLM(GenobenchForCausalLM):
    config_class = GenobenchCnnConfig


class GenobenchCnnLstmForCausalLM(GenobenchForCausalLM):
    config_class = GenobenchCnnLstmConfig


class GenobenchCnnDilatedForCausalLM(GenobenchForCausalLM):
    config_class = GenobenchCnnDilatedConfig


class GenobenchTransformerForCausalLM(GenobenchForCausalLM):
    config_class = GenobenchTransformerConfig


class GenobenchTransformerForMaskedLM(GenobenchPreTrainedModel):
    """Bidirectional transformer encoder with a masked-LM head (labels -100 except at masked sites)."""

    config_class = GenobenchTransformerConfig
    causal = False
    model_kind = "masked"

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_: Any,
    ) -> MaskedLMOutput:
        logits, _state = self._run(input_ids, attention_mask, None)
        loss = None
        if labels is not None:
            loss = _mean_loss(*token_nll(logits, labels, attention_mask, shift=False))
        return MaskedLMOutput(loss=loss, logits=logits)


CAUSAL_LM_CLASSES: dict[str, type[GenobenchForCausalLM]] = {
    c.config_class.arch: c
    for c in (
        GenobenchLstmForCausalLM,
        GenobenchLstmStatefulForCausalLM,
        GenobenchCnnForCausalLM,
        GenobenchCnnLstmForCausalLM,
        GenobenchCnnDilatedForCausalLM,
        GenobenchTransformerForCausalLM,
    )
}
MASKED_LM_CLASSES: dict[str, type[GenobenchTransformerForMaskedLM]] = {
    "transformer": GenobenchTransformerForMaskedLM
}
