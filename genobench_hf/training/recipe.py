"""The recipe of genobench's shipped reference checkpoints: which architecture, objective, data and budget.

One entry per shipped folder (``genobench_hf/baselines/<name>``). The budget counts optimizer steps, not
minutes, so a retrain gives the same weights on any machine (up to float rounding); ``genobench train
--reference NAME`` and ``genobench run --retrain`` both train from here, so the shipped weights, a user's
retrain and the command printed in each card are one recipe. Every GenomeNet architecture (LSTM, stateful
LSTM, CNN, CNN+LSTM, CNN with residual dilated blocks), the causal transformer and a masked transformer
learn from PRO; LSTM, CNN and the transformer from EUK and VIR as well, for the transfer matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from genobench_hf.errors import ConfigError
from genobench_hf.training.config import TrainConfig

#: shipped folders live beside the package code (safetensors + config + tokenizer + card + metrics)
BASELINES_DIR = Path(__file__).resolve().parent.parent / "baselines"

PRO_STEPS = 1500  # ~12 M nt seen (32 x 256-nt windows per step)
OTHER_STEPS = 800  # EUK and VIR: smaller train splits; the transfer matrix needs a model, not the best one
#: a transformer step costs about twice an LSTM or CNN step on a CPU (benchmarks/bench_train.py): half the
#: steps give every architecture of a kingdom about the same training compute
STEP_SHARE = {"transformer": 0.5}
EVAL_EVERY = 250
VAL_WINDOWS = 128  # ~33 k validation nucleotides per check: the selection is not decided by noise
SEED = 0


@dataclass(frozen=True)
class ReferenceModel:
    """One shipped checkpoint and how ``genobench train`` reproduces it."""

    arch: str
    dataset: str
    steps: int
    objective: Literal["clm", "mlm"] = "clm"
    ship: bool = True  # False: in the recipe (``--reference``, ``run --archs all`` train it) but not shipped

    @property
    def name(self) -> str:
        kind = "" if self.objective == "clm" else f"-{self.objective}"
        return f"{self.arch}{kind}-{self.dataset}"

    def config(self, out: Path, *, data_dir: Path | None = None, quiet: bool = False) -> TrainConfig:
        return TrainConfig(
            arch=self.arch, dataset=self.dataset, out=Path(out), data_dir=data_dir, objective=self.objective,
            steps=self.steps, eval_every=EVAL_EVERY, val_windows=VAL_WINDOWS, seed=SEED, select="best",
            quiet=quiet,
        )  # fmt: skip


_PRO_ARCHS = ("lstm", "lstm_stateful", "cnn", "cnn_lstm", "cnn_dilated", "transformer")
#: in the recipe but not shipped (none at present; the flag stays for entries added before their training)
_NOT_SHIPPED: frozenset[str] = frozenset()
_TRANSFER_ARCHS = ("lstm", "cnn", "transformer")


def _steps(arch: str, base: int) -> int:
    return round(base * STEP_SHARE.get(arch, 1.0))


REFERENCE_MODELS: tuple[ReferenceModel, ...] = (
    *(ReferenceModel(a, "PRO", _steps(a, PRO_STEPS), ship=a not in _NOT_SHIPPED) for a in _PRO_ARCHS),
    ReferenceModel("transformer", "PRO", _steps("transformer", PRO_STEPS), objective="mlm"),
    *(ReferenceModel(a, k, _steps(a, OTHER_STEPS)) for k in ("EUK", "VIR") for a in _TRANSFER_ARCHS),
)
BY_NAME = {m.name: m for m in REFERENCE_MODELS}
SHIPPED_MODELS = tuple(m for m in REFERENCE_MODELS if m.ship)


def reference(name: str) -> ReferenceModel:
    if name not in BY_NAME:
        raise ConfigError(f"unknown reference model {name!r}; known: {', '.join(BY_NAME)}")
    return BY_NAME[name]


def select(names: str) -> list[ReferenceModel]:
    """``all`` or a comma-separated list of names (``lstm-PRO,cnn-EUK``)."""
    if names.strip() == "all":
        return list(REFERENCE_MODELS)
    return [reference(n.strip()) for n in names.split(",") if n.strip()]


def shipped(name: str) -> Path | None:
    """The shipped folder of ``name`` if it holds weights (a clone without them gets None)."""
    folder = BASELINES_DIR / name
    return folder if (folder / "model.safetensors").exists() else None
