"""Train genobench's baseline architectures end to end (``genobench train`` and the transfer task).

``train(TrainConfig(arch="cnn_lstm", dataset="PRO", out=Path("runs/cnn_lstm-PRO")))`` trains on random
windows of the dataset's train split with Accelerate, evaluates validation bits/nt, checkpoints and
resumes, and writes a ``save_pretrained`` folder with the tokenizer, ``training_metrics.json`` and a model
card (README.md with a model-index).
"""

from __future__ import annotations

from genobench_hf.training.card import check_model_card, render_model_card
from genobench_hf.training.config import DEFAULT_PRICE_PER_DEVICE_HOUR, TrainConfig, TrainResult
from genobench_hf.training.loop import has_checkpoint, train

__all__ = [
    "DEFAULT_PRICE_PER_DEVICE_HOUR",
    "TrainConfig",
    "TrainResult",
    "check_model_card",
    "has_checkpoint",
    "render_model_card",
    "train",
]
