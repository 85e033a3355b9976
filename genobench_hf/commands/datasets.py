"""``genobench datasets build|push|info``: the six benchmark datasets as Hub dataset repos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from genobench_hf.data.build import ALL, BuildSummary, build_all
from genobench_hf.data.build_summary import print_summary
from genobench_hf.data.rows import DEFAULT_CHUNK_SIZE, DEFAULT_READ_LENGTH, DEFAULT_READS_PER_GENOME
from genobench_hf.data.splits import DEFAULT_RARE_MAX, DEFAULT_RARE_RANK, DEFAULT_THRESHOLD, RANKS
from genobench_hf.outputs import writes_output
from genobench_hf.threads import available_cpus

BUILD_HELP = """\
Build PRO, EUK, VIR (one row per contig or 1 Mb chunk, with CDS annotations) and PRO_reads, EUK_reads,
VIR_reads (150-nt reads, both strands) into OUT/<NAME>/, each a Hub dataset repo (Parquet shards + README
card) that `datasets.load_dataset("OUT/NAME", split=S)` loads offline. Splits (train, validation, test,
rare) are taxon-disjoint and verified; the split table is printed and written into every card.

Genomes come from the corpus embedded in the package (default), from --source FOLDER (PRO/, EUK/, VIR/
subfolders of FASTA/GenBank/GFF3 files) with --taxonomy TABLE.tsv (columns of TAXONOMY.tsv), or from
--manifest FILE (NCBI assembly accessions, downloaded and cached). Existing OUT/<NAME> folders are replaced
only when every requested dataset was built, and only if they hold nothing but what genobench wrote there
(else the build refuses and names the files; --force replaces them anyway).

Contig rows of genomes whose species has strains in the corpus (strains/) carry per-position
conservation columns from aligning those strains with minimap2 (~30 s per genome with 4 strains, cached
under $GENOBENCH_CACHE/conservation or ~/.cache/genobench/conservation); --no-conservation skips the
alignment and leaves the columns empty (the cards say so)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datasets",
        help="build, inspect and push the benchmark datasets",
        description="Build, inspect and push the six benchmark datasets.",
    )
    sub = parser.add_subparsers(dest="datasets_command", metavar="ACTION")
    parser.set_defaults(func=lambda _args: parser.print_help() or 1)

    build = sub.add_parser(
        "build",
        help="build the datasets",
        description=BUILD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_build_arguments(build)
    build.set_defaults(func=_build)

    push = sub.add_parser(
        "push",
        help="upload one dataset folder to the Hub",
        description="Validate DIR/NAME offline (card re-parsed, every split loaded and counted), "
        "then create the dataset repo ORG/NAME and upload the folder. --dry-run only "
        "lists what would be uploaded and never touches the network. The token comes "
        "from HF_TOKEN or `hf auth login` and is never printed.",
    )
    push.add_argument("folder", type=Path, metavar="DIR/NAME")
    push.add_argument("--repo-id", required=True, metavar="ORG/NAME")
    push.add_argument("--dry-run", action="store_true", help="validate and list files; no network")
    push.add_argument("--private", action="store_true", help="create the repo as private")
    push.add_argument("--revision", help="branch to upload to (default: main)")
    push.set_defaults(func=_push)

    info = sub.add_parser(
        "info",
        help="show a dataset folder's splits",
        description="Print the split table (rows per split) and the card's summary of DIR/NAME.",
    )
    info.add_argument("folder", type=Path, metavar="DIR/NAME")
    info.add_argument(
        "--check", action="store_true", help="also load every split offline and verify the counts"
    )
    info.set_defaults(func=_info)


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``genobench datasets build`` (shared with datasets_scripts/build_datasets.py)."""
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (DIR/<NAME>/)")
    parser.add_argument("--source", type=Path, metavar="FOLDER", help="your genome folder (needs --taxonomy)")
    parser.add_argument(
        "--taxonomy",
        type=Path,
        metavar="TABLE.tsv",
        help="lineage and genetic code per genome file (default: FOLDER/TAXONOMY.tsv)",
    )
    parser.add_argument(
        "--manifest", type=Path, metavar="FILE", help="NCBI assembly manifest to download and build"
    )
    parser.add_argument(
        "--names",
        nargs="+",
        choices=ALL,
        default=list(ALL),
        metavar="NAME",
        help=f"datasets to build (default: all of {', '.join(ALL)})",
    )
    parser.add_argument(
        "--reads-per-genome",
        type=int,
        default=DEFAULT_READS_PER_GENOME,
        metavar="N",
        help="reads sampled per genome (default %(default)s)",
    )
    parser.add_argument(
        "--read-length",
        type=int,
        default=DEFAULT_READ_LENGTH,
        metavar="L",
        help="read length in nt (default %(default)s)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        metavar="NT",
        help="longer contigs are cut into rows of this many nt (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the read sampling (default %(default)s)")
    parser.add_argument(
        "--num-proc",
        type=int,
        default=None,
        metavar="P",
        help="genomes processed in parallel; the output is identical (default: the CPUs this process may "
        "use, by affinity and cgroup quota)",
    )
    parser.add_argument(
        "--jaccard-threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="J",
        help="merge taxon groups whose genomes share k-mers above J (default %(default)s)",
    )
    parser.add_argument(
        "--rare-rank",
        choices=RANKS,
        default=DEFAULT_RARE_RANK,
        help="rank whose single-genus taxa form the rare split (default %(default)s)",
    )
    parser.add_argument(
        "--rare-max",
        type=int,
        default=DEFAULT_RARE_MAX,
        metavar="N",
        help="at most N taxon groups per kingdom go to rare (default %(default)s)",
    )
    parser.add_argument(
        "--no-conservation",
        action="store_true",
        help="skip the strain alignment: conservation columns stay empty (default: aligned, cached)",
    )
    parser.add_argument(
        "--evaluation-only",
        action="store_true",
        help="put every genome in test (no train/validation): for a few genomes to score models on, "
        "e.g. a kingdom with fewer than 3 genera; the split report and cards say so",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace OUT/<NAME> even if it holds files genobench did not write (they are deleted)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_build(args: argparse.Namespace) -> BuildSummary:
    """``build_all`` with the options of :func:`add_build_arguments`."""
    return build_all(
        args.out,
        source=args.source,
        taxonomy=args.taxonomy,
        manifest=args.manifest,
        reads_per_genome=args.reads_per_genome,
        read_length=args.read_length,
        chunk_size=args.chunk_size,
        seed=args.seed,
        names=args.names,
        num_proc=args.num_proc or available_cpus()["cpus"],
        threshold=args.jaccard_threshold,
        rare_rank=args.rare_rank,
        rare_max=args.rare_max,
        progress=not args.quiet and sys.stderr.isatty(),
        conservation=not args.no_conservation,
        force=args.force,
        evaluation_only=args.evaluation_only,
    )


@writes_output("out")
def _build(args: argparse.Namespace) -> int:
    print_summary(run_build(args))
    return 0


def _push(args: argparse.Namespace) -> int:
    from genobench_hf.data.hub import push_dataset

    result = push_dataset(
        args.folder, args.repo_id, dry_run=args.dry_run, private=args.private, revision=args.revision
    )
    verb = "would upload" if result.dry_run else "uploaded"
    print(
        f"{verb} {len(result.files)} files to dataset repo {result.repo_id} "
        f"({', '.join(f'{s}: {n}' for s, n in result.counts.items())} rows):"
    )
    for name in result.files:
        print(f"  {name}")
    if result.url:
        print(result.url)
    return 0


def _info(args: argparse.Namespace) -> int:
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCard

    from genobench_hf.data.hub import validate_repo
    from genobench_hf.errors import InputError

    readme = args.folder / "README.md"
    if not readme.is_file():
        raise InputError("not a dataset folder (no README.md)", path=args.folder)
    card = DatasetCard.load(readme)
    info = DatasetInfosDict.from_dataset_card_data(card.data).get("default")
    counts = validate_repo(args.folder) if args.check else {n: s.num_examples for n, s in info.splits.items()}
    table = Table(title=f"{card.data.get('pretty_name', args.folder.name)} ({args.folder})")
    table.add_column("split")
    table.add_column("rows", justify="right")
    table.add_column("shards", justify="right")
    for split, n in counts.items():
        table.add_row(split, f"{n:,}", str(len(list((args.folder / "data").glob(f"{split}-*.parquet")))))
    console = Console()
    console.print(table)
    text = card.text
    if "## Splits" in text:
        section = text.split("## Splits", 1)[1].split("\n## ", 1)[0]
        console.print("Splits" + section.rstrip())
    if args.check:
        console.print(
            "[green]validated offline: card parses, every split loads with the card's counts[/green]"
        )
    return 0
