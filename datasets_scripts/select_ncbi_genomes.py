"""Select RefSeq genomes per kingdom from NCBI's assembly summaries, and download them as a corpus folder.

    python datasets_scripts/select_ncbi_genomes.py select --out manifest.tsv            # online
    python datasets_scripts/select_ncbi_genomes.py download manifest.tsv --out corpus/  # online, cached
    genobench datasets build --source corpus/ --taxonomy corpus/TAXONOMY.tsv --out datasets/

The selection rule is documented in ``genobench_hf.data.ncbi``. ``select`` also works offline on summary
files and a taxonomy dump given with ``--summary KINGDOM=FILE`` and ``--taxdump``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from genobench_hf.data import download, ncbi
from genobench_hf.errors import ConfigError, GenobenchError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--base-url", help=f"NCBI FTP site or a mirror (default {ncbi.NCBI_BASE_URL})")
    common.add_argument(
        "--cache-dir", type=Path, help=f"download cache (default {download.default_cache_dir()})"
    )
    common.add_argument(
        "--retries", type=int, default=3, help="retries per file on transient errors (default 3)"
    )
    common.add_argument("--timeout", type=float, default=60, help="seconds per network read (default 60)")

    sel = sub.add_parser("select", parents=[common], help="assembly summaries + taxonomy -> manifest TSV")
    sel.add_argument("--out", type=Path, required=True, help="manifest TSV to write")
    sel.add_argument("--kingdoms", default="PRO,EUK,VIR", help="comma-separated subset of PRO,EUK,VIR")
    sel.add_argument(
        "--per-genus", type=int, default=3, help="at most this many assemblies per genus (default 3)"
    )
    sel.add_argument(
        "--max-per-kingdom", type=int, help="cap per kingdom, genus-diverse first (default none)"
    )
    sel.add_argument("--levels", default=",".join(ncbi.LEVELS), help="assembly levels, most preferred first")
    sel.add_argument(
        "--categories", default=",".join(ncbi.CATEGORIES), help="refseq categories, preferred first"
    )
    sel.add_argument("--refresh", action="store_true", help="re-download cached summaries and taxonomy")
    sel.add_argument("--summary", action="append", default=[], metavar="KINGDOM=FILE",
                     help="offline: a local assembly_summary.txt for KINGDOM (repeatable)")  # fmt: skip
    sel.add_argument(
        "--taxdump", type=Path, help="offline: new_taxdump.tar.gz or a folder with rankedlineage.dmp"
    )

    dl = sub.add_parser(
        "download", parents=[common], help="manifest TSV -> corpus folder (PRO/ EUK/ VIR/ + tables)"
    )
    dl.add_argument("manifest", type=Path)
    dl.add_argument("--out", type=Path, required=True, help="corpus folder to lay out")
    return parser


def _select(args: argparse.Namespace) -> None:
    split = lambda text: tuple(x.strip() for x in text.split(",") if x.strip())  # noqa: E731
    knobs = {"per_genus": args.per_genus, "max_per_kingdom": args.max_per_kingdom,
             "levels": split(args.levels), "categories": split(args.categories)}  # fmt: skip
    if args.summary or args.taxdump:
        if not (args.summary and args.taxdump):
            raise ConfigError("offline selection needs both --summary KINGDOM=FILE and --taxdump")
        paths: dict[str, list[Path]] = {}
        for item in args.summary:
            kingdom, sep, file = item.partition("=")
            if not sep:
                raise ConfigError(f"--summary {item!r}: expected KINGDOM=FILE")
            paths.setdefault(kingdom.strip().upper(), []).append(Path(file))
        entries = ncbi.select_assemblies(paths, ncbi.LineageTable.from_taxdump(args.taxdump), **knobs)
        ncbi.write_manifest(entries, args.out)
    else:
        entries = download.resolve_manifest_online(
            args.out, base_url=args.base_url or ncbi.NCBI_BASE_URL, cache_dir=args.cache_dir,
            kingdoms=split(args.kingdoms.upper()), refresh=args.refresh, retries=args.retries,
            timeout=args.timeout, **knobs,
        )  # fmt: skip
    counts = {k: sum(e.kingdom == k for e in entries) for k in ncbi.KINGDOM_GROUPS}
    print(f"wrote {args.out}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "select":
            _select(args)
        else:
            out = download.materialize_manifest(args.manifest, args.out, cache_dir=args.cache_dir, base_url=args.base_url,
                                            retries=args.retries, timeout=args.timeout)  # fmt: skip
            print(f"corpus ready in {out} (TAXONOMY.tsv, MANIFEST.tsv)")
    except GenobenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
