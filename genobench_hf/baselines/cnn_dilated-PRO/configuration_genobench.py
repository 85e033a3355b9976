"""Configs of genobench's baseline architectures: one ``PretrainedConfig`` subclass per arch id.

Every size is a field, so a larger run is a config change, not a code change. Defaults are small
(~0.1–1 M parameters) so that a CPU run of a few minutes learns something; ``docs`` of each field say
what it controls. The ``arch`` class attribute is the id used by ``genobench train --arch`` and by
:data:`CONFIG_CLASSES`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from transformers import PretrainedConfig

from .tokenizer_genobench import BOS_ID, EOS_ID, MASK_ID, PAD_ID, VOCAB_SIZE


class GenobenchConfig(PretrainedConfig):
    """Fields shared by every arch: vocabulary, input embedding width, dropout, special token ids."""

    arch: ClassVar[str] = ""
    model_type = "genobench"

    def __init__(
        self,
        vocab_size: int = VOCAB_SIZE,
        embedding_dim: int = 32,
        dropout: float = 0.0,
        pad_token_id: int = PAD_ID,
        bos_token_id: int = BOS_ID,
        eos_token_id: int = EOS_ID,
        mask_token_id: int = MASK_ID,
        tie_word_embeddings: bool = False,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.dropout = dropout
        self.mask_token_id = mask_token_id
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            tie_word_embeddings=tie_word_embeddings,
            **kwargs,
        )


class GenobenchLstmConfig(GenobenchConfig):
    """Stacked unidirectional LSTM over nucleotide embeddings (GenomeNet's LSTM language model)."""

    arch = "lstm"
    model_type = "genobench_lstm"

    def __init__(self, hidden_size: int = 128, num_layers: int = 1, **kwargs: Any) -> None:
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        super().__init__(**kwargs)


class GenobenchLstmStatefulConfig(GenobenchLstmConfig):
    """The LSTM trained with truncated BPTT: the hidden state is carried over ``bptt_windows``
    consecutive windows of a genome stream (then reset). Scoring stays stateless per window."""

    arch = "lstm_stateful"
    model_type = "genobench_lstm_stateful"

    def __init__(self, bptt_windows: int = 8, **kwargs: Any) -> None:
        self.bptt_windows = bptt_windows
        super().__init__(**kwargs)


class GenobenchCnnConfig(GenobenchConfig):
    """A stack of causal convolutions; receptive field ``1 + num_layers * (kernel_size - 1)``."""

    arch = "cnn"
    model_type = "genobench_cnn"

    def __init__(self, channels: int = 64, kernel_size: int = 9, num_layers: int = 3, **kwargs: Any) -> None:
        self.channels = channels
        self.kernel_size = kernel_size
        self.num_layers = num_layers
        super().__init__(**kwargs)


class GenobenchCnnLstmConfig(GenobenchConfig):
    """Causal convolutions (local motifs) feeding an LSTM (long context), as in GenomeNet's CNN-LSTM."""

    arch = "cnn_lstm"
    model_type = "genobench_cnn_lstm"

    def __init__(
        self,
        channels: int = 64,
        kernel_size: int = 9,
        num_conv_layers: int = 1,
        hidden_size: int = 128,
        num_lstm_layers: int = 1,
        **kwargs: Any,
    ) -> None:
        self.channels = channels
        self.kernel_size = kernel_size
        self.num_conv_layers = num_conv_layers
        self.hidden_size = hidden_size
        self.num_lstm_layers = num_lstm_layers
        super().__init__(**kwargs)


class GenobenchCnnDilatedConfig(GenobenchConfig):
    """WaveNet-style dilated causal convolutions with gated residual blocks and skip connections;
    receptive field ``1 + (kernel_size - 1) * sum(dilations)``."""

    arch = "cnn_dilated"
    model_type = "genobench_cnn_dilated"

    def __init__(
        self,
        channels: int = 48,
        kernel_size: int = 3,
        dilations: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        self.channels = channels
        self.kernel_size = kernel_size
        self.dilations = list(dilations) if dilations is not None else [1, 2, 4, 8, 16, 32, 64, 1, 2, 4]
        super().__init__(**kwargs)


class GenobenchTransformerConfig(GenobenchConfig):
    """Pre-norm transformer with rotary positions (no length limit in the weights).

    ``objective`` is ``clm`` (causal attention, ``...ForCausalLM``) or ``mlm`` (bidirectional,
    ``...ForMaskedLM``); a checkpoint refuses to load under the other head.
    """

    arch = "transformer"
    model_type = "genobench_transformer"

    def __init__(
        self,
        hidden_size: int = 64,
        num_layers: int = 2,
        num_heads: int = 4,
        intermediate_size: int = 192,
        rope_theta: float = 10_000.0,
        objective: str = "clm",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("embedding_dim", hidden_size)
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.intermediate_size = intermediate_size
        self.rope_theta = rope_theta
        self.objective = objective
        super().__init__(**kwargs)


CONFIG_CLASSES: dict[str, type[GenobenchConfig]] = {
    c.arch: c
    for c in (
        GenobenchLstmConfig,
        GenobenchLstmStatefulConfig,
        GenobenchCnnConfig,
        GenobenchCnnLstmConfig,
        GenobenchCnnDilatedConfig,
        GenobenchTransformerConfig,
    )
}
ARCHS = tuple(CONFIG_CLASSES)
