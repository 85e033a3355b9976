"""``TrainConfig`` / ``TrainResult``: the library interface of ``genobench train``.

Defaults are the CPU default run: ~0.1–1 M parameter models, 256-nt windows, 2 minutes of training.
Prices per device-hour are rough on-demand figures (2026) for cost estimates, not quotes; pass your own.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from genobench_hf.costs import DEFAULT_PRICE_PER_DEVICE_HOUR  # noqa: F401  (re-exported: one price table)
from genobench_hf.errors import ConfigError

DEFAULT_MAX_MINUTES = 2.0

#: learning rates that trained well in the 2-minute CPU runs (docs/ has the numbers)
DEFAULT_LR = {"transformer": 2e-3}
FALLBACK_LR = 3e-3

#: archs for which bf16 autocast was measured faster than fp32 on an AMX CPU (benchmarks/bench_train.py)
BF16_FASTER_ON_CPU: frozenset[str] = frozenset({"cnn", "cnn_lstm", "cnn_dilated"})

# fields that must match when a run is resumed (others, e.g. quiet, may change)
RESUME_KEYS = (
    "arch", "objective", "dataset", "steps", "max_minutes", "batch_size", "seq_len", "lr", "seed",
    "weight_decay", "warmup_steps", "mlm_probability", "model_overrides", "bf16",
)  # fmt: skip


@dataclass
class TrainConfig:
    """Everything one training run depends on (also written into the checkpoint and metrics)."""

    arch: str
    dataset: str
    out: Path
    data_dir: Path | None = None
    objective: Literal["clm", "mlm"] = "clm"
    steps: int | None = None  # fixed step budget; None = convert ``max_minutes`` to steps after a probe
    max_minutes: float | None = None  # wall-clock budget of the training loop (default 2 when steps is None)
    batch_size: int = 32
    seq_len: int = 256  # nucleotides per window ([BOS]/[CLS]/[SEP] come on top)
    lr: float | None = None  # None = per-arch default
    weight_decay: float = 0.01
    warmup_steps: int = 30
    grad_clip: float = 1.0
    seed: int = 0
    val_seed: int = 0  # the validation sample depends on this only, so runs with different seeds compare
    val_windows: int = 64
    eval_every: int = 100  # validation and checkpoint interval, in steps
    select: Literal["best", "last"] = "best"  # the weights written: lowest validation bits, or the last step
    mlm_probability: float = 0.15
    bf16: Literal["auto", "on", "off"] = "auto"
    price_per_device_hour: float | None = None  # None = DEFAULT_PRICE_PER_DEVICE_HOUR[device kind]
    resume: bool = False
    stop_after: int | None = None  # checkpoint and exit at this step (time-sliced jobs); --resume continues
    model_overrides: dict[str, Any] = field(default_factory=dict)  # config fields, e.g. {"hidden_size": 128}
    quiet: bool = False
    threads: int | None = None  # torch CPU threads; None = detected (genobench_hf.threads)
    device: str = "auto"  # auto | cpu | cuda | cuda:N (genobench_hf.devices); not a resume key

    def __post_init__(self) -> None:
        from genobench_hf.devices import parse_device

        self.device = parse_device(self.device)
        self.out = Path(self.out)
        self.data_dir = None if self.data_dir is None else Path(self.data_dir)
        if self.steps is not None and self.max_minutes is not None:
            raise ConfigError("give either --steps or --max-minutes, not both")
        if self.steps is None and self.max_minutes is None:
            self.max_minutes = DEFAULT_MAX_MINUTES
        checks = {
            "--steps": self.steps is None or self.steps >= 1,
            "--max-minutes": self.max_minutes is None or self.max_minutes > 0,
            "--batch-size": self.batch_size >= 1,
            "--seq-len": self.seq_len >= 2,
            "--lr": self.lr is None or self.lr > 0,
            "--eval-every": self.eval_every >= 1,
            "--val-windows": self.val_windows >= 1,
            "mlm_probability": 0 < self.mlm_probability < 1,
            "--price-per-device-hour": self.price_per_device_hour is None or self.price_per_device_hour >= 0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(f"invalid value for {', '.join(bad)}")
        if self.select not in ("best", "last"):
            raise ConfigError(f"--select must be best or last, not {self.select!r}")
        if self.bf16 not in ("auto", "on", "off"):
            raise ConfigError(f"--bf16 must be auto, on or off, not {self.bf16!r}")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR.get(self.arch, FALLBACK_LR)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["out"], d["data_dir"] = str(self.out), None if self.data_dir is None else str(self.data_dir)
        return d


@dataclass
class TrainResult:
    """What a run produced: the model folder, its metrics (``training_metrics.json``), and the history."""

    out: Path
    metrics: dict[str, Any]
    history: list[dict[str, float]]

    @property
    def validation_bits_per_nt(self) -> float:
        return float(self.metrics["selected_validation_bits_per_nt"])
