"""genobench's baseline DNA language models, registered with the transformers Auto classes.

Importing this package registers every config and model, so that a folder written by
``save_pretrained`` (e.g. by ``genobench train``) loads with ``AutoConfig`` /
``AutoModelForCausalLM`` / ``AutoModelForMaskedLM`` like any Hub model, without remote code.

Arch ids: ``lstm``, ``lstm_stateful``, ``cnn``, ``cnn_lstm``, ``cnn_dilated``, ``transformer``
(the transformer also as a masked LM). :func:`build_model` makes a fresh model from an arch id.
"""

from __future__ import annotations

from typing import Any

from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, PreTrainedModel

from genobench_hf.errors import ConfigError
from genobench_hf.models.configuration import ARCHS, CONFIG_CLASSES, GenobenchConfig
from genobench_hf.models.modeling import (
    CAUSAL_LM_CLASSES,
    MASKED_LM_CLASSES,
    GenobenchCausalLMOutput,
    GenobenchForCausalLM,
    GenobenchTransformerForMaskedLM,
    token_nll,
)
from genobench_hf.models.tokenizer import dna_char_tokenizer

OBJECTIVES = ("clm", "mlm")


def _register() -> None:
    for arch, config_cls in CONFIG_CLASSES.items():
        AutoConfig.register(config_cls.model_type, config_cls, exist_ok=True)
        AutoModelForCausalLM.register(config_cls, CAUSAL_LM_CLASSES[arch], exist_ok=True)
        if arch in MASKED_LM_CLASSES:
            AutoModelForMaskedLM.register(config_cls, MASKED_LM_CLASSES[arch], exist_ok=True)


_register()


def make_config(arch: str, objective: str = "clm", **overrides: Any) -> GenobenchConfig:
    """The default config of ``arch`` with ``overrides``; clear errors for unknown archs/objectives."""
    if arch not in CONFIG_CLASSES:
        raise ConfigError(f"unknown arch {arch!r}; choose one of {', '.join(ARCHS)}")
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}; choose clm or mlm")
    if objective == "mlm" and arch not in MASKED_LM_CLASSES:
        raise ConfigError(
            f"--objective mlm needs a bidirectional arch ({', '.join(MASKED_LM_CLASSES)}), not {arch!r}"
        )
    if arch == "transformer":
        overrides.setdefault("objective", objective)
    unknown = sorted(set(overrides) - set(CONFIG_CLASSES[arch]().to_dict()))
    if unknown:
        raise ConfigError(
            f"bad config field for {arch}: {', '.join(unknown)} (see genobench_hf/models/configuration.py)"
        )
    return CONFIG_CLASSES[arch](**overrides)


def build_model(arch: str, objective: str = "clm", **overrides: Any) -> PreTrainedModel:
    """A freshly initialised model of ``arch`` (causal head, or masked head for ``objective='mlm'``)."""
    config = make_config(arch, objective, **overrides)
    classes = MASKED_LM_CLASSES if objective == "mlm" else CAUSAL_LM_CLASSES
    return classes[arch](config)


__all__ = [
    "ARCHS",
    "CAUSAL_LM_CLASSES",
    "CONFIG_CLASSES",
    "MASKED_LM_CLASSES",
    "OBJECTIVES",
    "GenobenchCausalLMOutput",
    "GenobenchConfig",
    "GenobenchForCausalLM",
    "GenobenchTransformerForMaskedLM",
    "build_model",
    "dna_char_tokenizer",
    "make_config",
    "token_nll",
]
