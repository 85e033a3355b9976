"""The training loop: Accelerate (one code path for CPU, GPUs, multi-node), checkpoints, resume, metrics.

Determinism: each step's batch is a pure function of (seed, step, process) (see ``data.py``), model init is
seeded, and a checkpoint holds model + optimizer + scheduler + RNG states (``accelerator.save_state``)
plus the loop state, so ``resume`` reproduces an uninterrupted run exactly in fp32 on the same device.
Checkpoints are written to a temporary folder and renamed; ``checkpoints/latest`` names the last good one.

A ``max_minutes`` budget is turned into a step count after a short probe (during warm-up, where the LR
schedule does not yet depend on the total), so the schedule anneals properly and the count is recorded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from genobench_hf import progress
from genobench_hf.errors import ConfigError
from genobench_hf.models import build_model, dna_char_tokenizer, token_nll
from genobench_hf.models.remote_code import write_remote_code
from genobench_hf.store import DatasetStore, default_data_dir
from genobench_hf.task_config import kingdom_of
from genobench_hf.threads import configure_threads
from genobench_hf.training.card import write_model_card
from genobench_hf.training.config import BF16_FASTER_ON_CPU, RESUME_KEYS, TrainConfig, TrainResult
from genobench_hf.training.data import Batch, WindowSampler, sequences_digest
from genobench_hf.training.metrics import build_metrics, write_json_atomic

LN2 = math.log(2.0)
PROBE_STEPS = 10  # steps timed to turn --max-minutes into a step count (after PROBE_START untimed ones)
PROBE_START = 10  # the first steps are slow (allocator, oneDNN kernel selection): not timed
PREFETCH_ON_CPU = False  # build batches on a worker thread on CPU too (tests: the same numbers either way)


def _load_samplers(config: TrainConfig, bptt: int) -> tuple[WindowSampler, WindowSampler, DatasetStore, str]:
    store = DatasetStore(config.data_dir if config.data_dir is not None else default_data_dir())
    if not store.has(config.dataset):
        found = sorted(p.name for p in store.data_dir.iterdir() if (p / "README.md").exists())
        raise ConfigError(
            f"dataset {config.dataset!r} not found in {store.data_dir} (found: {', '.join(found) or 'none'})"
        )
    splits = store.splits(config.dataset)
    for split in ("train", "validation"):
        if split not in splits:
            raise ConfigError(
                f"dataset {config.dataset} has no {split} split (splits: {', '.join(splits) or 'none'})"
            )
    seqs = {s: [r["sequence"] for r in store.rows(config.dataset, s)] for s in ("train", "validation")}
    min_train = bptt * (config.seq_len + 1) if bptt else None
    train = WindowSampler(
        seqs["train"], config.seq_len, what=f"{config.dataset} train split", min_len=min_train
    )
    val = WindowSampler(seqs["validation"], config.seq_len, what=f"{config.dataset} validation split")
    return train, val, store, sequences_digest(seqs["train"])


def _use_bf16(config: TrainConfig, device: torch.device) -> bool:
    """``auto``: bf16 autocast on CUDA with bf16 support; on CPU only for archs measured faster with it."""
    if config.bf16 != "auto":
        return config.bf16 == "on"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu" or config.arch not in BF16_FASTER_ON_CPU:
        return False
    with contextlib.suppress(OSError):
        return any(f in Path("/proc/cpuinfo").read_text() for f in ("amx_bf16", "avx512_bf16"))
    return False


def _lr_lambda(warmup: int, total: list[int | None]):
    """Linear warm-up, then cosine decay to 10% at ``total[0]`` (constant until the total is known)."""

    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if total[0] is None:
            return 1.0
        frac = min(1.0, (step - warmup) / max(1, total[0] - warmup))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))

    return f


def _evaluate(model: Any, loader: DataLoader, accelerator: Any, shift: bool) -> float:
    """Validation bits per scored nucleotide, gathered over processes (fp32, no autocast)."""
    model.eval()
    nll_sum, n_sum = 0.0, 0.0
    with torch.no_grad():
        for ids, labels in loader:
            nll, n = token_nll(model(input_ids=ids).logits, labels, shift=shift)
            both = accelerator.gather_for_metrics(torch.stack([nll, n.to(nll.dtype)], dim=1))
            nll_sum += float(both[:, 0].sum())
            n_sum += float(both[:, 1].sum())
    model.train()
    return nll_sum / max(n_sum, 1.0) / LN2


class _Batches:
    """The batch of each step, on the device. On CUDA the next step's batch is built on a worker thread
    while the current step runs and copied from pinned memory with ``non_blocking``, so the host neither
    waits for the data nor for the copy; elsewhere batches are built in line (``PREFETCH_ON_CPU`` forces
    the threaded path, for tests). Batches depend only on (seed, step, rank), so both give the same ones."""

    def __init__(self, make: Callable[[int], Batch], device: torch.device) -> None:
        self.make, self.device = make, device
        self.cuda = device.type == "cuda"
        threaded = self.cuda or PREFETCH_ON_CPU
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="genobench-batches") if threaded else None
        self.pending: tuple[int, Future[Batch]] | None = None

    def _build(self, step: int) -> Batch:
        batch = self.make(step)
        if self.cuda:  # page-locked host memory makes the copy asynchronous
            batch = dataclasses.replace(
                batch, input_ids=batch.input_ids.pin_memory(), labels=batch.labels.pin_memory()
            )
        return batch

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor, Batch]:
        """(input ids, labels) on the device and the host batch of ``step``; starts building ``step + 1``."""
        if self.pending is not None and self.pending[0] == step:
            batch = self.pending[1].result()
        else:
            batch = self._build(step)
        if self.pool is not None:
            self.pending = (step + 1, self.pool.submit(self._build, step + 1))
        move = {"device": self.device, "non_blocking": self.cuda}
        return batch.input_ids.to(**move), batch.labels.to(**move), batch

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _bits(loss: torch.Tensor | float) -> float:
    """A step's training loss in bits (read from the device only when logged or saved)."""
    return float(loss) / LN2 if isinstance(loss, torch.Tensor) else loss


class _Checkpoints:
    """``out/checkpoints/step-N`` folders, written atomically; ``latest`` names the last complete one."""

    def __init__(self, out: Path, accelerator: Any) -> None:
        self.root, self.acc = out / "checkpoints", accelerator

    def latest(self) -> Path | None:
        pointer = self.root / "latest"
        if not pointer.exists():
            return None
        path = self.root / pointer.read_text().strip()
        return path if (path / "trainer_state.json").exists() else None

    def save(
        self, step: int, loop_state: dict[str, Any], rnn_state: Any, best: dict[str, Any] | None
    ) -> None:
        acc = self.acc
        tmp, final = self.root / f".tmp-step-{step:08d}", self.root / f"step-{step:08d}"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp))
        if rnn_state is not None:
            torch.save([s.detach().cpu() for s in rnn_state], tmp / f"rnn_state_{acc.process_index}.pt")
        if best is not None and acc.is_main_process:
            torch.save(best, tmp / "best_weights.pt")
        acc.wait_for_everyone()
        if acc.is_main_process:
            (tmp / "trainer_state.json").write_text(json.dumps(loop_state, indent=1))
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            write_json_atomic(self.root / "latest", None, text=final.name)
            for old in self.root.glob("step-*"):
                if old != final:
                    shutil.rmtree(old, ignore_errors=True)
        acc.wait_for_everyone()

    def load(self, path: Path) -> tuple[dict[str, Any], Any, dict[str, Any] | None]:
        self.acc.load_state(str(path))
        rnn_file = path / f"rnn_state_{self.acc.process_index}.pt"
        rnn = tuple(s.to(self.acc.device) for s in torch.load(rnn_file)) if rnn_file.exists() else None
        best_file = path / "best_weights.pt"
        best = torch.load(best_file) if best_file.exists() else None
        return json.loads((path / "trainer_state.json").read_text()), rnn, best


def has_checkpoint(out: Path) -> bool:
    """Whether ``out`` holds a complete checkpoint that ``--resume`` continues from."""
    return _Checkpoints(Path(out), None).latest() is not None


def _check_resume(config: TrainConfig, saved: dict[str, Any]) -> None:
    now = config.to_json()
    diff = [k for k in RESUME_KEYS if saved.get(k) != now.get(k)]
    if diff:
        raise ConfigError(
            "--resume with a different configuration: "
            + ", ".join(f"{k} {saved.get(k)!r} -> {now.get(k)!r}" for k in diff)
        )


def train(config: TrainConfig) -> TrainResult:
    """Train ``config.arch`` on the train split of ``config.dataset``; write model, tokenizer, metrics, card.

    One progress stage (its bar counts steps), nested in the display of a caller such as ``genobench run``.
    """
    show = not config.quiet and os.environ.get("RANK", "0") == "0"
    with (
        progress.stages(1, label="train", enabled=show) as display,
        display.stage(f"{config.arch} on {config.dataset}"),
    ):
        return _train(config)


def _train(config: TrainConfig) -> TrainResult:
    from accelerate.utils import broadcast_object_list, set_seed

    from genobench_hf.devices import make_accelerator

    configure_threads(config.threads)
    accelerator = make_accelerator(config.device, step_scheduler_with_optimizer=False)
    checkpoints = _Checkpoints(config.out, accelerator)
    resume_from = checkpoints.latest()
    if config.resume and resume_from is None:
        raise ConfigError(f"--resume: no checkpoint in {checkpoints.root}")
    if not config.resume and checkpoints.root.exists() and any(checkpoints.root.glob("step-*")):
        raise ConfigError(f"{config.out} already holds checkpoints; pass --resume or choose another --out")

    set_seed(config.seed)
    model = build_model(config.arch, config.objective, **config.model_overrides)
    # the transfer task labels a model's row by the kingdom it learned from (PRO_reads -> PRO)
    model.config.genobench_trained_on = kingdom_of(config.dataset)
    bptt = getattr(model.config, "bptt_windows", 0) if config.arch == "lstm_stateful" else 0
    train_data, val_data, store, train_digest = _load_samplers(config, bptt)
    n_params = sum(p.numel() for p in model.parameters())
    causal = config.objective == "clm"
    val = val_data.fixed_sample(config.val_seed, config.val_windows, config.objective, config.mlm_probability)
    val_loader = DataLoader(TensorDataset(val.input_ids, val.labels), batch_size=config.batch_size)

    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    total: list[int | None] = [config.steps]
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config.warmup_steps, total))
    model, optimizer, scheduler, val_loader = accelerator.prepare(model, optimizer, scheduler, val_loader)
    device, rank = accelerator.device, accelerator.process_index
    bf16 = _use_bf16(config, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    step, elapsed, history, recent, rnn_state = 0, 0.0, [], deque(maxlen=20), None
    best: dict[str, Any] | None = None  # {"step", "bits", "state"}: the validation-selected weights (CPU)
    if config.resume and resume_from is not None:
        saved, rnn_state, best = checkpoints.load(resume_from)
        _check_resume(config, saved["config"])
        step, elapsed, history, total[0] = (
            saved["step"],
            saved["elapsed_s"],
            saved["history"],
            saved["total_steps"],
        )
        recent.extend(saved["recent_losses"])

    def loop_state() -> dict[str, Any]:
        return {"step": step, "elapsed_s": elapsed + time.perf_counter() - t0, "history": history,
                "total_steps": total[0], "recent_losses": [_bits(x) for x in recent],
                "config": config.to_json()}  # fmt: skip

    def make_batch(at: int) -> Batch:
        if bptt:
            return train_data.stream_batch(config.seed, at, rank, config.batch_size, bptt)
        if causal:
            return train_data.causal_batch(config.seed, at, rank, config.batch_size)
        return train_data.masked_batch(config.seed, at, rank, config.batch_size, config.mlm_probability)

    batches = _Batches(make_batch, device)

    model.train()
    t0 = time.perf_counter()
    if not history:  # the untrained model: the start of the learning curve, and the cost of one evaluation
        history.append(
            {"step": 0, "validation_bits_per_nt": _evaluate(model, val_loader, accelerator, causal)}
        )
    eval_seconds, last_saved = time.perf_counter() - t0, step
    bar = progress.work(total[0], "step", enabled=not config.quiet and accelerator.is_main_process)
    bar.update(step)
    probe_t, planned = None, total[0]
    while total[0] is None or step < total[0]:
        if config.stop_after is not None and step >= config.stop_after:
            break
        ids, labels, batch = batches.get(step)
        kwargs: dict[str, Any] = {}
        if bptt:
            keep = (~batch.reset).to(device=device, dtype=torch.float32)[None, :, None]
            kwargs["state"] = None if rnn_state is None else tuple(s * keep for s in rnn_state)
        with autocast:
            out = model(input_ids=ids, labels=labels, **kwargs)
        accelerator.backward(out.loss)
        if config.grad_clip:
            accelerator.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if bptt:
            rnn_state = tuple(s.detach().float() for s in out.state)
        step += 1
        recent.append(out.loss.detach())  # no host sync per step: read at logging (``_bits``)
        bar.update(1)
        if total[0] is None:  # --max-minutes: time PROBE_STEPS steps, then fix the step count
            if step == PROBE_START:
                probe_t = time.perf_counter()
            elif step == PROBE_START + PROBE_STEPS:
                per_step = (time.perf_counter() - probe_t) / PROBE_STEPS
                budget = config.max_minutes * 60 - (time.perf_counter() - t0)
                n = step + int(budget / (per_step + 1.2 * eval_seconds / config.eval_every))
                total[0] = broadcast_object_list([max(n, step)])[0]
                bar.set_total(total[0])
                planned = total[0]
        if config.max_minutes is not None and (total[0] is None or step < total[0]):
            # a shared or throttled machine can slow down after the probe: the budget is a hard limit
            late = elapsed + time.perf_counter() - t0 > config.max_minutes * 60
            if broadcast_object_list([late])[0]:
                total[0] = step
        if step % config.eval_every == 0 or step == total[0]:
            bits = _evaluate(model, val_loader, accelerator, causal)
            history.append({"step": step, "validation_bits_per_nt": bits,
                            "train_bits_per_nt": sum(map(_bits, recent)) / len(recent)})  # fmt: skip
            bar.set_note(f"train {history[-1]['train_bits_per_nt']:.3f}, validation {bits:.3f} bits/nt")
            if config.select == "best" and (best is None or bits < best["bits"]):
                state = accelerator.unwrap_model(model).state_dict()
                best = {
                    "step": step,
                    "bits": bits,
                    "state": {k: v.detach().cpu().clone() for k, v in state.items()},
                }
            if step != total[0]:
                checkpoints.save(step, loop_state(), rnn_state, best)
                last_saved = step
    batches.close()
    finished = step >= (total[0] or 0)
    if not finished:  # stopped by stop_after: keep the place, do not write a final model
        if last_saved != step:
            checkpoints.save(step, loop_state(), rnn_state, best)
        return TrainResult(out=config.out, metrics={"steps": step, "finished": False}, history=history)
    wall = elapsed + time.perf_counter() - t0

    recent_mean = torch.tensor([sum(map(_bits, recent)) / max(len(recent), 1)], device=device)
    train_bits = float(accelerator.gather(recent_mean).mean())
    metrics = build_metrics(
        config, accelerator, wall=wall, steps=step, n_params=n_params, bf16=bf16, history=history,
        train_bits=train_bits, data_fingerprint=store.fingerprint(config.dataset),
        model_config=accelerator.unwrap_model(model).config.to_dict(),
    )  # fmt: skip
    metrics["train_sequences_sha256"] = train_digest  # what `genobench run` checks a shipped model against
    metrics["planned_steps"] = planned if planned is not None else step
    metrics["stopped_by_time_budget"] = planned is not None and step < planned
    final = accelerator.unwrap_model(model)
    if best is not None and best["step"] != step:  # ship the validation-selected weights, not the last ones
        final.load_state_dict(best["state"])
    metrics["selection"] = config.select
    metrics["selected_step"] = best["step"] if best is not None else step
    metrics["selected_validation_bits_per_nt"] = round(
        best["bits"] if best is not None else history[-1]["validation_bits_per_nt"], 5
    )
    if accelerator.is_main_process:
        config.out.mkdir(parents=True, exist_ok=True)
        final.save_pretrained(config.out)
        write_remote_code(config.out, final)  # loadable with trust_remote_code
        dna_char_tokenizer(causal).save_pretrained(config.out)
        write_json_atomic(config.out / "training_metrics.json", metrics)
        write_model_card(config.out, config, metrics)
    accelerator.wait_for_everyone()
    return TrainResult(out=config.out, metrics=metrics, history=history)
