"""``genobench run``: the whole default benchmark on the embedded corpus, into one folder.

datasets (built once) -> Markov baseline on every task -> the shipped reference checkpoints of each
baseline (``genobench_hf/baselines``, checked against this run's train splits; ``--retrain`` trains them
again from their recipe with ``genobench train``) -> the PRO-trained model of each baseline on every task,
the others on ``transfer`` -> one results JSON per baseline with the merged transfer matrix -> report.
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
DEFAULT_BASELINES = "lstm,cnn,transformer,transformer-mlm"


def register(subparsers: Any) -> None:
    from genobench_hf.devices import DEVICE_HELP, parse_device

    p: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="the default benchmark end to end: datasets, baselines, all tasks, report",
        description=(
            "Build the six datasets from the embedded corpus (or --source), score the Markov baseline on "
            "every task, score the shipped reference checkpoints of each --archs baseline (or train them "
            "again from their recipe with --retrain), the PRO-trained one on every task and the others on "
            "the transfer matrix, and write datasets/, results/, report/ (and models/ when training) into "
            "--out. Re-running resumes: finished steps are skipped."
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
        "--archs",
        default=DEFAULT_BASELINES,
        help="reference baselines to score (default %(default)s; 'all' = every shipped one: also "
        "lstm_stateful, cnn_lstm, cnn_dilated), or 'none'",
    )
    p.add_argument("--kingdoms", default="PRO,EUK,VIR", help="kingdoms whose reference models are scored")
    p.add_argument(
        "--retrain",
        action="store_true",
        help="train the baselines again from their recipe on this run's datasets instead of scoring the "
        "shipped checkpoints (needed with --source)",
    )
    p.add_argument(
        "--train-steps",
        type=int,
        help="with --retrain: override the recipe's step budget (quick runs, tests)",
    )
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
    from genobench_hf.errors import ConfigError

    if args.train_steps is not None and not args.retrain:
        raise ConfigError("--train-steps needs --retrain (the shipped checkpoints have their own recipe)")
    if args.source is not None and not args.retrain and _baselines(args):
        raise ConfigError(
            "the shipped checkpoints were trained on the embedded corpus, not on --source; pass --retrain "
            "(or --archs none)"
        )
    units = _baselines(args)
    n_train = len(units) if args.retrain else 0
    n_stages = 3 + len(_split(args.models)) + len(units) + n_train
    with progress.stages(n_stages, label="run", enabled=not args.quiet) as display:
        return _run(args, display, units)


def _baselines(args: argparse.Namespace) -> list[Any]:
    """The recipe entries of the --archs baselines on the --kingdoms, PRO's first within each baseline."""
    from genobench_hf.errors import ConfigError
    from genobench_hf.training.recipe import REFERENCE_MODELS

    families = {m.name.rsplit("-", 1)[0] for m in REFERENCE_MODELS}
    wanted = sorted(families) if args.archs.strip() == "all" else _split(args.archs)
    unknown = [f for f in wanted if f not in families]
    if unknown:
        raise ConfigError(f"unknown baseline {', '.join(unknown)}; known: {', '.join(sorted(families))}")
    kingdoms = _split(args.kingdoms)
    order = {k: i for i, k in enumerate(sorted(kingdoms, key=lambda k: k != FULL_TASK_KINGDOM))}
    return sorted(
        (m for m in REFERENCE_MODELS if m.name.rsplit("-", 1)[0] in wanted and m.dataset in order),
        key=lambda m: (wanted.index(m.name.rsplit("-", 1)[0]), order[m.dataset]),
    )


def _run(args: argparse.Namespace, display: Any, units: list[Any]) -> int:
    from genobench_hf.data.build import build_all
    from genobench_hf.report import build_report
    from genobench_hf.results import write_results
    from genobench_hf.site_records import rebase_records
    from genobench_hf.summary_table import print_summary
    from genobench_hf.tasks.transfer import merge_transfer_rows

    out: Path = args.out
    data_dir, results_dir = out / "datasets", out / "results"
    models = _split(args.models)

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
    by_family: dict[str, dict[str, dict[str, Any]]] = {}
    for unit in units:
        folder = _model_folder(args, unit, data_dir, display)
        full = unit.dataset == FULL_TASK_KINGDOM
        tasks = SITE_TASKS + ",transfer" if full else "transfer"
        part = results_dir / "parts" / f"{unit.name}.json"
        by_family.setdefault(unit.name.rsplit("-", 1)[0], {})[unit.dataset] = score(
            str(folder), tasks, part, full
        )
    for arch, rows in by_family.items():
        kingdom = FULL_TASK_KINGDOM if FULL_TASK_KINGDOM in rows else next(iter(rows))
        target = results_dir / f"genobench-{arch}.json"
        # the merged file lives beside parts/: its per-site record references must follow the records
        main = rebase_records(rows[kingdom], results_dir / "parts" / f"{arch}-{kingdom}.json", target)
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
        written.append(write_results(doc, target))
    with display.stage("report"):
        report = build_report(written, out / "report", title="genobench: default benchmark")
    print(f"genobench: datasets in {data_dir}, results in {results_dir}, report in {report.html}")
    return 0


def _model_folder(args: argparse.Namespace, unit: Any, data_dir: Path, display: Any) -> Path:
    """The shipped checkpoint of ``unit`` (checked against this run's train split), or with --retrain
    (or when none is shipped) the folder its recipe trains into ``--out/models``."""
    from genobench_hf.training import has_checkpoint, train
    from genobench_hf.training.recipe import shipped

    folder = None if args.retrain else shipped(unit.name)
    if folder is not None:
        check_shipped(folder, unit, data_dir)
        return folder
    folder = args.out / "models" / unit.name
    with display.stage(f"train {unit.name}"):
        if not (folder / "training_metrics.json").exists():
            if not args.retrain:
                print(f"genobench: no shipped checkpoint of {unit.name}; training it from its recipe")
            config = unit.config(folder, data_dir=data_dir, quiet=args.quiet)
            config.steps = args.train_steps or config.steps
            config.threads, config.device, config.resume = args.threads, args.device, has_checkpoint(folder)
            train(config)
    return folder


def check_shipped(folder: Path, unit: Any, data_dir: Path) -> None:
    """Refuse a shipped checkpoint whose train split is not this run's (another corpus, split rules or
    build): its test genomes could be ones it learned from. The digest covers sequences, not file bytes."""
    import json

    from genobench_hf.errors import ConfigError
    from genobench_hf.store import DatasetStore
    from genobench_hf.training.data import sequences_digest

    recorded = json.loads((folder / "training_metrics.json").read_text()).get("train_sequences_sha256")
    rows = DatasetStore(data_dir).rows(unit.dataset, "train", columns=("sequence",))
    now = sequences_digest([r["sequence"] for r in rows])
    if recorded != now:
        raise ConfigError(
            f"shipped checkpoint {folder.name} was trained on another {unit.dataset} train split "
            f"(sha256 {str(recorded)[:12]}, this run's {now[:12]}): pass --retrain to train it on these datasets"
        )


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
