"""Dataset build speed vs raw FASTA parsing, peak memory for a small and a 10x larger input, and the
cost of the conservation columns.

Prints (1) Mb/s of ``build_all`` (all six datasets, ``--no-conservation``) on a corpus (default
../shared/genomes) against the speed of merely decompressing and parsing the same genome files in the
same run (goal >= 0.5x). Two baselines are measured, both in this run: the build's own readers
(``read_fasta``/``read_genbank_sequences``, block-based since the build-speed work, so this bar rose with
them) and a plain line-by-line reader (gzip text lines joined per record: what a minimal Python parser
does, and what ``read_fasta`` did before) whose speed does not move when genobench's code changes.
Wall-clock and CPU-time ratios are both printed: on a loaded 2-core machine the CPU ratio is the steadier
one. (2) The peak RSS of a build of the embedded corpus and of the same corpus repeated 10x under
different genome ids (goal: flat, i.e. memory set by the largest genome, not by the corpus). (3) The
strain alignment for the conservation columns (embedded corpus, PRO only): once with an empty cache and
once with the cache it filled. Builds run in subprocesses so that each peak RSS and CPU time is its own.
Not a test: run ``python benchmarks/bench_build.py``; ends with ``RATIO build_vs_raw_parse`` (wall, build's
readers; ``--num-proc`` defaults to the CPUs available, like ``genobench datasets build``) and
``RATIO build_vs_raw_parse_cpu`` (CPU seconds of the build and its workers).
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import lzma
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genobench_hf.data.fasta import read_fasta
from genobench_hf.data.genbank import read_genbank_sequences
from genobench_hf.data.taxonomy import TAXONOMY_COLUMNS, embedded_corpus_dir, load_corpus, read_taxonomy
from genobench_hf.threads import available_cpus

REPO = Path(__file__).resolve().parents[1]
_OPEN = {b"\x1f\x8b": gzip.open, b"\xfd7": lzma.open, b"BZ": bz2.open}


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def raw_parse(folder: Path) -> tuple[int, float, float]:
    """(bases, wall s, CPU s) to decompress and parse every genome file once with the build's readers."""
    (w, c), bases = _clock(), 0
    for entry in load_corpus(folder):
        reader = read_genbank_sequences(entry.path) if entry.is_genbank else read_fasta(entry.path)
        bases += sum(len(r.sequence) for r in reader)
    return bases, time.perf_counter() - w, time.process_time() - c


def _plain_fasta(path: Path) -> int:
    """Bases of a FASTA file read line by line, each record's lines joined once (no validation)."""
    opener = _OPEN.get(path.read_bytes()[:2], open)
    bases, lines = 0, []
    with opener(path, "rt") as fh:
        for line in fh:
            if line.startswith(">"):
                bases += len("".join(lines))
                lines = []
            else:
                lines.append(line.strip())
    return bases + len("".join(lines))


def reference_parse(folder: Path) -> tuple[int, float, float]:
    """(bases, wall s, CPU s) with the plain line-by-line reader (GenBank-only genomes: the build's)."""
    (w, c), bases = _clock(), 0
    for entry in load_corpus(folder):
        if entry.is_genbank:
            bases += sum(len(r.sequence) for r in read_genbank_sequences(entry.path))
        else:
            bases += _plain_fasta(entry.path)
    return bases, time.perf_counter() - w, time.process_time() - c


def build_in_subprocess(folder: Path, out: Path, reads: int, num_proc: int, **options: object) -> dict:
    """Build in a fresh interpreter; wall and CPU seconds (with workers) of ``build_all`` alone."""
    extra = "".join(
        f", {k}=" + (f"Path({str(v)!r})" if isinstance(v, Path) else repr(v)) for k, v in options.items()
    )
    code = (
        "import json, resource, time; from pathlib import Path;"
        "from genobench_hf.data.build import build_all;"
        "u = lambda: sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF,"
        " resource.RUSAGE_CHILDREN) for f in ('ru_utime', 'ru_stime'));"
        "t, c = time.perf_counter(), u();"
        f"s = build_all(Path({str(out)!r}), source=Path({str(folder)!r}), reads_per_genome={reads},"
        f" num_proc={num_proc}, progress=False{extra});"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'cpu': u() - c, 'bases': s.bases,"
        " 'rows': {d.name: sum(d.rows.values()) for d in s.datasets},"
        " 'conservation_seconds': s.conservation_seconds,"
        " 'tracks': {g: [len(v['strains']), v['cached'], round(v['coverage'], 4)] for g, v in s.tracks.items()},"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def import_seconds(module: str) -> float:
    """Wall seconds to import ``module`` in a fresh interpreter (a fixed cost inside every build)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(result.stdout.strip())


def repeated_corpus(source: Path, dest: Path, times: int) -> Path:
    """``source`` repeated ``times`` times under new genome ids (symlinks; no manifest, so no checksums)."""
    table = read_taxonomy(source / "TAXONOMY.tsv")
    rows = ["\t".join(TAXONOMY_COLUMNS)]
    for entry in load_corpus(source):
        for i in range(times):
            for path in [entry.path] + (
                [entry.annotation] if entry.annotation and entry.annotation != entry.path else []
            ):
                name = path.name.replace(entry.genome_id, f"{entry.genome_id}_x{i}", 1)
                target = dest / entry.kingdom / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(path)
            rel = f"{entry.kingdom}/{entry.path.name.replace(entry.genome_id, f'{entry.genome_id}_x{i}', 1)}"
            row = table[entry.file][1]
            rows.append("\t".join([rel, *(row[c] for c in TAXONOMY_COLUMNS[1:])]))
    (dest / "TAXONOMY.tsv").write_text("\n".join(rows) + "\n")
    return dest


def _rate(bases: int, seconds: float) -> float:
    return bases / 1e6 / seconds if seconds else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "genomes")
    parser.add_argument("--reads-per-genome", type=int, default=2000)
    parser.add_argument("--num-proc", type=int, default=available_cpus()["cpus"])
    parser.add_argument(
        "--times", type=int, default=10, help="repetitions of the embedded corpus (memory test)"
    )
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-conservation", action="store_true", help="do not time the strain alignment")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="genobench-bench-") as tmp:
        tmp = Path(tmp)
        bases, raw_w, raw_c = raw_parse(args.source)
        ref_bases, ref_w, ref_c = reference_parse(args.source)
        built = build_in_subprocess(
            args.source, tmp / "out", args.reads_per_genome, args.num_proc, conservation=False
        )
        assert bases == built["bases"], (bases, built["bases"])
        if ref_bases != bases:
            print(f"note: the plain reader counted {ref_bases:,} bases (it does not strip inner whitespace)")
        build_w, build_c = _rate(bases, built["seconds"]), _rate(bases, built["cpu"])
        print(f"source: {args.source} ({bases / 1e6:.1f} Mb); wall s / CPU s, Mb/s by wall and by CPU")
        for label, w, c in (
            ("raw decompress+parse (build's readers)", raw_w, raw_c),
            ("raw decompress+parse (plain line reader)", ref_w, ref_c),
        ):
            print(
                f"{label:42s} {w:6.1f} s / {c:6.1f} s   {_rate(bases, w):6.2f} / {_rate(bases, c):6.2f} Mb/s"
            )
        print(
            f"{'build, 6 datasets, --no-conservation':42s} {built['seconds']:6.1f} s / {built['cpu']:6.1f} s   "
            f"{build_w:6.2f} / {build_c:6.2f} Mb/s  (num_proc {args.num_proc}, "
            f"peak RSS {built['peak_rss_mb']:.0f} MB)"
        )
        for label, w, c in (("build's readers", raw_w, raw_c), ("plain line reader", ref_w, ref_c)):
            print(
                f"ratio build / raw ({label}): {build_w / _rate(bases, w):.2f}x wall, "
                f"{build_c / _rate(bases, c):.2f}x CPU (goal >= 0.5x)"
            )
        print(f"rows: {built['rows']}")
        print(
            f"`import datasets` takes {import_seconds('datasets'):.1f} s wall; the build no longer imports it "
            f"(card YAML written by genobench_hf.data.card_yaml)"
        )
        ratios = {
            "build_vs_raw_parse": build_w / _rate(bases, raw_w),
            "build_vs_raw_parse_cpu": build_c / _rate(bases, raw_c),
        }
        if not args.skip_conservation:
            cache = tmp / "conservation-cache"
            cold = build_in_subprocess(
                embedded_corpus_dir(),
                tmp / "cons",
                0,
                args.num_proc,
                names=("PRO",),
                conservation_cache=cache,
            )
            warm = build_in_subprocess(
                embedded_corpus_dir(),
                tmp / "cons2",
                0,
                args.num_proc,
                names=("PRO",),
                conservation_cache=cache,
            )
            print(
                f"conservation (embedded PRO, {len(cold['tracks'])} genomes with strains {cold['tracks']}): "
                f"alignment {cold['conservation_seconds']:.1f} s wall; PRO build {cold['seconds']:.1f} s with "
                f"an empty cache, {warm['seconds']:.1f} s with the cache it filled"
            )
        if not args.skip_memory:
            small = build_in_subprocess(
                embedded_corpus_dir(), tmp / "small", args.reads_per_genome, 1, conservation=False
            )
            big_src = repeated_corpus(embedded_corpus_dir(), tmp / "big-src", args.times)
            big = build_in_subprocess(big_src, tmp / "big", args.reads_per_genome, 1, conservation=False)
            print(
                f"peak RSS, embedded corpus ({small['bases'] / 1e6:.0f} Mb): {small['peak_rss_mb']:.0f} MB "
                f"in {small['seconds']:.0f} s"
            )
            print(
                f"peak RSS, {args.times}x corpus ({big['bases'] / 1e6:.0f} Mb): {big['peak_rss_mb']:.0f} MB "
                f"in {big['seconds']:.0f} s (ratio {big['peak_rss_mb'] / small['peak_rss_mb']:.2f}; goal: flat)"
            )
    for name, value in ratios.items():
        print(f"RATIO {name} {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
