"""The model card (``README.md``) of a trained baseline, with its validation bits/nt as a ``model-index``.

Rendered with ``huggingface_hub.ModelCard``/``ModelCardData`` and checked offline by parsing the written
file back (``ModelCard.validate`` needs the network): the metric must come back with its value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from genobench_hf.errors import ModelError
from genobench_hf.training.config import TrainConfig

METRIC_TYPE = "bits_per_nucleotide"
LICENSE = "apache-2.0"

_BODY = """
# genobench {arch} ({objective_name}) trained on {dataset}

A small baseline DNA language model from genobench (a benchmark of DNA language models): the
`{arch}` architecture ({n_params:,} parameters) over single nucleotides, trained as a {objective_name} on
random {seq_len}-nt windows (both strands) of the **train** split of the genobench `{dataset}` dataset.

| | |
|---|---|
| validation bits per nucleotide | **{val:.4f}** (chance = 2.0; {selection}) |
| final train bits per nucleotide | {train:.4f} |
| seed | {seed} |
| steps x batch | {steps:,} x {batch} ({devices} {device}) |
| nucleotides seen | {tokens:,} |
| wall time | {wall:.1f} s ({nps:,.0f} nt/s) |
| device-hours / estimated cost | {dev_hours:.4f} h / ${cost:.4f} (at ${price}/device-hour, {price_source}) |
| peak memory | {mem:.0f} MiB ({mem_kind}) |

Validation bits/nt are measured on a fixed seeded sample of {val_windows} windows of the validation split,
{val_note}.

## Training curve

{curve}

## Reproduce

```bash
{command}
```

The recipe counts optimizer steps, never wall-clock time, and every batch is a pure function of (seed,
step), so the same command gives the same weights on another machine up to floating-point
non-determinism (different CPU kernels or thread counts round differently).

## Usage

Without genobench installed, the model code shipped in this folder (`modeling_genobench.py` and its
siblings, named in `config.json`'s `auto_map`) is used, as for custom models on the Hub:

```python
from transformers import {auto}, AutoTokenizer

model = {auto}.from_pretrained("path/to/this/folder", trust_remote_code=True)
tokenizer = AutoTokenizer.from_pretrained("path/to/this/folder", trust_remote_code=True)
```

With genobench installed, `import genobench_hf.models` registers the same classes natively and no code
from the folder runs (`trust_remote_code` is then not needed). The model gives logits (`model(input_ids)`);
`pipeline(...)` and `generate()` are not supported by this card's claims (not tested).

Input is uppercase A/C/G/T/N; other IUPAC codes should be mapped to N. Score it with
`genobench evaluate --model path/to/this/folder`.{stateful_note}

Full training metrics: `training_metrics.json`.
"""


def render_model_card(config: TrainConfig, metrics: dict[str, Any]) -> ModelCard:
    """The card for a finished run (``metrics`` = the ``training_metrics.json`` dict)."""
    clm = config.objective == "clm"
    val = _shipped_bits(metrics)
    data = ModelCardData(
        library_name="transformers",
        license=LICENSE,
        tags=["genomics", "dna", "genobench", f"genobench-{config.arch}"],
        datasets=[config.dataset],
        pipeline_tag="text-generation" if clm else "fill-mask",
        model_name=f"genobench-{config.arch}-{config.objective}-{config.dataset}",
        eval_results=[
            EvalResult(
                task_type="text-generation" if clm else "fill-mask",
                task_name="next-nucleotide prediction" if clm else "masked nucleotide prediction",
                dataset_type=config.dataset,
                dataset_name=f"genobench {config.dataset}",
                dataset_split="validation",
                metric_type=METRIC_TYPE,
                metric_name="validation bits per nucleotide",
                metric_value=val,
            )
        ],
    )
    body = _BODY.format(
        arch=config.arch, objective_name="causal LM" if clm else "masked LM", dataset=config.dataset,
        n_params=metrics["parameters"], seq_len=config.seq_len, val=val, seed=config.seed,
        selection=_selection_note(metrics), curve=_curve_table(metrics.get("validation_history", [])),
        command=train_command(config), train=metrics["final_train_bits_per_nt"],
        steps=metrics["steps"], batch=config.batch_size, devices=metrics["device_count"],
        device=metrics["device_kind"], tokens=metrics["tokens_seen"], wall=metrics["wall_time_s"],
        nps=metrics["nucleotides_per_s"], dev_hours=metrics["device_hours"], cost=metrics["estimated_cost_usd"],
        price=metrics["price_per_device_hour_usd"], price_source=metrics["price_source"],
        mem=metrics["peak_memory_mib"], mem_kind=metrics["peak_memory_kind"], val_windows=config.val_windows,
        val_note="left context only (every A/C/G/T target after [BOS])" if clm
        else f"{config.mlm_probability:.0%} of A/C/G/T positions masked BERT-style (80/10/10)",
        auto="AutoModelForCausalLM" if clm else "AutoModelForMaskedLM",
        stateful_note=(
            "\n\nTrained with truncated backpropagation through time: the LSTM state was carried over "
            "consecutive windows of a genome; scoring runs each window from a zero state."
            if config.arch == "lstm_stateful" else ""
        ),
    )  # fmt: skip
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{body}")


def _shipped_bits(metrics: dict[str, Any]) -> float:
    """Validation bits of the weights in the folder (the selected step; older metrics only had the last)."""
    return float(metrics.get("selected_validation_bits_per_nt", metrics["final_validation_bits_per_nt"]))


def _selection_note(metrics: dict[str, Any]) -> str:
    if metrics.get("selection") == "best":
        return f"the lowest of the validation checks, at step {metrics['selected_step']:,} of {metrics['steps']:,}"
    return f"the last step, {metrics['steps']:,}"


def _curve_table(history: list[dict[str, float]], rows: int = 12) -> str:
    """Validation (and train) bits/nt over steps, thinned to about ``rows`` rows (first and last kept)."""
    if not history:
        return "(no validation history)"
    n = len(history)
    keep = range(n) if n <= rows else sorted({round(i * (n - 1) / (rows - 1)) for i in range(rows)})
    lines = ["| step | train bits/nt | validation bits/nt |", "|--:|--:|--:|"]
    for h in (history[i] for i in keep):
        train = h.get("train_bits_per_nt")
        lines.append(
            f"| {int(h['step']):,} | {'–' if train is None else f'{train:.4f}'} | {h['validation_bits_per_nt']:.4f} |"
        )
    return "\n".join(lines)


def train_command(config: TrainConfig) -> str:
    """The ``genobench train`` command line that reproduces ``config`` (data from the default corpus)."""
    parts = ["genobench train", f"--arch {config.arch}", f"--dataset {config.dataset}", "--out OUT"]
    if config.objective != "clm":
        parts.append(f"--objective {config.objective}")
    parts.append(
        f"--steps {config.steps}" if config.steps is not None else f"--max-minutes {config.max_minutes:g}"
    )
    parts += [f"--batch-size {config.batch_size}", f"--seq-len {config.seq_len}", f"--seed {config.seed}",
              f"--eval-every {config.eval_every}", f"--val-windows {config.val_windows}"]  # fmt: skip
    if config.lr is not None:
        parts.append(f"--lr {config.lr:g}")
    if config.model_overrides:
        parts.append("--model-config '" + json.dumps(config.model_overrides, sort_keys=True) + "'")
    return " ".join(parts)


def check_model_card(path: Path, expected_bits: float) -> None:
    """Re-parse a written card; raise :class:`ModelError` unless the model-index carries the metric."""
    card = ModelCard.load(path)
    results = card.data.eval_results or []
    ok = any(
        r.metric_type == METRIC_TYPE and abs(float(r.metric_value) - expected_bits) < 1e-9 for r in results
    )
    if not ok or card.data.library_name != "transformers":
        raise ModelError(f"{path}: the model card does not re-parse with its model-index ({results})")


def write_model_card(out: Path, config: TrainConfig, metrics: dict[str, Any]) -> Path:
    """Write ``out/README.md`` and check it by parsing it back."""
    path = Path(out) / "README.md"
    render_model_card(config, metrics).save(path)
    check_model_card(path, _shipped_bits(metrics))
    return path
