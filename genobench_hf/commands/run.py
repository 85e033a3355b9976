"""``genobench run``: the whole default benchmark on the embedded corpus, into one folder.

datasets (built once) -> Markov baseline on every task -> each baseline architecture trained on each
kingdom (``genobench train``) -> the PRO-trained model of each architecture on every task, the others on
``transfer`` -> one results JSON per architecture with the merged transfer matrix -> report.
Every step is skipped when its output exists, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from genobench_hf.outputs import writes_output
from genobench_hf.task_config import TaskConfig
from genobench_hf.threads import add_threads_argument, available_cpus

DEFAULTS = TaskConfig()  # the one set of task defaults, shared with `genobench evaluate`
SITE_TASKS = (
    "imputation,next_nucleotide,imputation_dense,span_imputation,rare_species,conservation,efficiency"
)
#: representation tasks run on one annotated genome dataset, with bounded samples (CPU minutes, not hours)
REPRESENTATION_TASKS = "aa_probe,cds_probe,neuron_importance"
REPRESENTATION_DATASETS = "PRO"
REPRESENTATION_OPTIONS = {"probe_nucleotides": 6000, "importance_sites": 48, "importance_max_neurons": 32}
FULL_TASK_KINGDOM = "PRO"  # the kingdom whose model of each architecture runs every task


def register(subparsers: Any) -> None:
    from genobench_hf.devices import DEVICE_HELP, parse_device

    p: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="the default benchmark end to end: datasets, baselines, training, all tasks, report",
        description=(
            "Build the six datasets from the embedded corpus (or --source), score the Markov baseline on "
            "every task, train each --archs architecture on each kingdom, score them (transfer matrix for "
            "all, every task for the PRO-trained one), and write datasets/, models/, results/ and report/ "
            "into --out. Re-running resumes: finished steps are skipped."
        ),
    )
    p.add_argument(
        "--out",
        "--output_path",
        type=Path,
        default=Path("genobench-out"),
        help="output folder (default genobench-out; --output_path: the lm-evaluation-harness spelling)",
    )
    p.add_argument(
        "--archs", default="lstm,cnn,transformer", help="baseline architectures to train, or 'none'"
    )
    p.add_argument("--kingdoms", default="PRO,EUK,VIR", help="kingdoms to train each architecture on")
    p.add_argument("--train-minutes", type=float, default=1.0, help="training budget per model (default 1)")
    p.add_argument("--models", default="", help="extra models to score on every task (Hub ids, folders)")
    p.add_argument("--datasets", default="PRO,EUK,VIR,PRO_reads,EUK_reads,VIR_reads")
    p.add_argument(
        "--n-sites", type=int, default=DEFAULTS.n_sites, help="sites per dataset (default %(default)s)"
    )
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--source", type=Path, help="a genome folder laid out like the embedded corpus")
    p.add_argument("--taxonomy", type=Path, help="taxonomy table for --source")
    p.add_argument("--device", type=parse_device, default="auto", help=DEVICE_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress display")
    add_threads_argument(p)
    p.set_defaults(func=run)


def safe_name(model: str) -> str:
    """A file name for a model id (``org/name`` -> ``org__name``; ``markov:auto`` -> ``markov-auto``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model.replace("/", "__")).strip("-") or "model"


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip() and v.strip() != "none"]


@writes_output("out")
def run(args: argparse.Namespace) -> int:
    """The whole benchmark under one progress display (stage i/N: datasets, each score/train, report)."""
    from genobench_hf import progress

    n_stages = 3 + len(_split(args.models)) + 2 * len(_split(args.archs)) * len(_split(args.kingdoms))
    with progress.stages(n_stages, label="run", enabled=not args.quiet) as display:
        return _run(args, display)


def _run(args: argparse.Namespace, display: Any) -> int:
    from genobench_hf.data.build import build_all
    from genobench_hf.report import build_report
    from genobench_hf.results import write_results
    from genobench_hf.summary_table import print_summary
    from genobench_hf.tasks.transfer import merge_transfer_rows
    from genobench_hf.training import TrainConfig, has_checkpoint, train

    out: Path = args.out
    data_dir, results_dir = out / "datasets", out / "results"
    models, archs, kingdoms = _split(args.models), _split(args.archs), _split(args.kingdoms)

    with display.stage("datasets"):
        if not (data_dir / "PRO" / "README.md").exists():
            summary = build_all(
                data_dir, source=args.source, taxonomy=args.taxonomy, seed=args.seed, progress=False,
                num_proc=available_cpus()["cpus"],
            )  # fmt: skip
            print(summary.table())

    expected = _expected_protocol(args, data_dir)

    def score(model: str, tasks: str, path: Path, representations: bool = False) -> dict[str, Any]:
        with display.stage(f"score {model}"):
            earlier = reusable(path, expected, model)
            if earlier is not None:
                return earlier
            doc = _evaluate(args, model, tasks, args.datasets, data_dir, path, out / ".cache")
            if representations:  # probes and ablation on PRO only, merged into the same results document
                extra = _evaluate(
                    args, model, REPRESENTATION_TASKS, REPRESENTATION_DATASETS, data_dir, path, out / ".cache"
                )
                doc = _merge(doc, extra)
                write_results(doc, path)
            print_summary(doc)
            return doc

    written = [results_dir / "markov-auto.json"]
    score("markov:auto", SITE_TASKS + ",transfer", written[0])
    for model in models:
        written.append(results_dir / f"{safe_name(model)}.json")
        score(model, SITE_TASKS + ",transfer", written[-1], representations=True)
    for arch in archs:
        rows: dict[str, dict[str, Any]] = {}
        for kingdom in kingdoms:
            folder = out / "models" / f"{arch}-{kingdom}"
            with display.stage(f"train {arch} on {kingdom}"):
                if not (folder / "training_metrics.json").exists():
                    train(
                        TrainConfig(
                            arch=arch, dataset=kingdom, out=folder, data_dir=data_dir,
                            max_minutes=args.train_minutes, seed=args.seed, quiet=args.quiet,
                            threads=args.threads, device=args.device, resume=has_checkpoint(folder),
                        )
                    )  # fmt: skip
            full = kingdom == FULL_TASK_KINGDOM
            tasks = SITE_TASKS + ",transfer" if full else "transfer"
            rows[kingdom] = score(str(folder), tasks, results_dir / "parts" / f"{arch}-{kingdom}.json", full)
        if not rows:
            continue
        main = rows.get(FULL_TASK_KINGDOM) or next(iter(rows.values()))
        mixed = transfer_protocol_notes(arch, rows)
        merged = merge_transfer_rows(list(rows.values()))
        doc = dict(main)
        doc["results"] = dict(main["results"]) | {"transfer": merged["results"]}
        doc["summaries"] = dict(main["summaries"]) | {"transfer": merged["summary"]}
        doc["config"] = dict(main["config"]) | {
            "model": f"genobench-{arch}",
            "transfer_models": {k: d["config"]["model"] for k, d in rows.items()},
            "protocol_warnings": mixed,
        }
        written.append(write_results(doc, results_dir / f"genobench-{arch}.json"))
    with display.stage("report"):
        report = build_report(written, out / "report", title="genobench: default benchmark")
    print(f"genobench: datasets in {data_dir}, results in {results_dir}, report in {report.html}")
    return 0


def resume_hint(args: argparse.Namespace, again: str) -> str:
    """Ctrl-C / SIGTERM: finished steps, scored chunks and training checkpoints are kept."""
    return (
        "finished steps, scored chunks and training checkpoints are kept; "
        f"the same command resumes where it stopped: {again}"
    )


def _merge(doc: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """One results document from two evaluations of the same model (different tasks)."""
    merged = dict(doc)
    for key in ("results", "summaries"):
        merged[key] = dict(doc[key]) | extra[key]
    merged["config"] = dict(doc["config"]) | {"tasks": doc["config"]["tasks"] + extra["config"]["tasks"]}
    merged["timing"] = dict(doc["timing"]) | {"representations": extra["timing"]}
    return merged


def task_config(args: argparse.Namespace) -> TaskConfig:
    """The task settings of every evaluation of the run: the shared defaults, the user's --n-sites/--seed,
    and the bounded representation samples."""
    return TaskConfig(n_sites=args.n_sites, seed=args.seed, extra=dict(REPRESENTATION_OPTIONS))


def reusable(path: Path, expected: dict[str, Any], model: str) -> dict[str, Any] | None:
    """The results at ``path`` when they were scored under ``expected`` (what this run would score) and,
    for a model folder, from the folder's current content; None (score again, saying why) otherwise."""
    from genobench_hf.content import model_identity
    from genobench_hf.protocol import differences, held_tasks, protocol_of
    from genobench_hf.results import load_results

    if not path.exists():
        return None
    doc = load_results(path)
    held = held_tasks(doc)
    stale = differences([(path.name, protocol_of(doc), held), ("this run", expected, held)])
    recorded = (doc.get("config") or {}).get("model_identity")
    if Path(model).is_dir() and (not isinstance(recorded, dict) or recorded != model_identity(model)):
        stale.append(f"the model folder {model} changed since (or its content was not recorded)")
    if not stale:
        return doc
    print(f"genobench: {path} was scored under another protocol, scoring again: " + "; ".join(stale))
    return None


def transfer_protocol_notes(arch: str, rows: dict[str, dict[str, Any]]) -> list[str]:
    """Warn (and return the lines) where the per-kingdom transfer rows merged into one matrix were scored
    under different protocols."""
    from genobench_hf.protocol import differences, held_tasks, protocol_of, warn_differences

    items = [
        (f"{arch}-{k}", protocol_of(d), {"transfer": held_tasks(d).get("transfer", [])})
        for k, d in rows.items()
    ]
    notes = differences(items)
    warn_differences(notes, f"the transfer rows of genobench-{arch}")
    return notes


def _expected_protocol(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    """The protocol this run scores under (what a resumed results file must match)."""
    from genobench_hf.protocol import describe
    from genobench_hf.store import DatasetStore
    from genobench_hf.tasks.base import DATASET_NAMES

    store = DatasetStore(data_dir)
    return describe(task_config(args), {d: store.fingerprint(d) for d in DATASET_NAMES if store.has(d)})


def _evaluate(
    args: argparse.Namespace, model: str, tasks: str, datasets: str, data_dir: Path, output: Path, cache: Path
) -> dict:
    from genobench_hf.runner import EvalConfig, evaluate

    return evaluate(
        EvalConfig(
            model=model,
            tasks=tasks,
            datasets=datasets,
            data_dir=data_dir,
            output=output,
            task=task_config(args),
            cache_dir=cache,
            show_progress=not args.quiet,
            threads=args.threads,
            device=args.device,
        )
    )
