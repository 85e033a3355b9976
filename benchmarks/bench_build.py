"""Dataset build speed vs raw FASTA parsing, and peak memory for a small and a 10x larger input.

Prints (1) Mb/s of ``build_all`` on a corpus (default ../shared/genomes) against the speed of merely
decompressing and parsing the same genome files in the same run (goal >= 0.5x), and (2) the peak RSS of a
build of the embedded corpus and of the same corpus repeated 10x under different genome ids (goal: flat,
i.e. memory set by the largest genome, not by the corpus). Builds run in subprocesses so that each peak
RSS is its own. Not a test: run ``python benchmarks/bench_build.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genobench_hf.data.annotations import read_genbank_sequences
from genobench_hf.data.fasta import clean_sequence, read_fasta
from genobench_hf.data.taxonomy import TAXONOMY_COLUMNS, embedded_corpus_dir, load_corpus, read_taxonomy

REPO = Path(__file__).resolve().parents[1]


def raw_parse(folder: Path) -> tuple[int, float]:
    """(bases, seconds) to decompress and parse every genome file once."""
    started = time.perf_counter()
    bases = 0
    for entry in load_corpus(folder):
        reader = read_genbank_sequences(entry.path) if entry.is_genbank else read_fasta(entry.path)
        bases += sum(len(r.sequence) for r in reader)
    return bases, time.perf_counter() - started


def annotation_cost(folder: Path) -> float:
    """Seconds to read every annotation file and check every CDS translation (part of the build, not of
    the raw FASTA baseline; reported so the ratio can be read fairly)."""
    from genobench_hf.data.rows import load_genome

    with_ann = [e for e in load_corpus(folder) if e.annotation is not None]
    total = plain = 0.0
    for e in with_ann:
        t0 = time.perf_counter()
        load_genome(e)
        total += time.perf_counter() - t0
        t0 = time.perf_counter()
        reader = read_genbank_sequences(e.path) if e.is_genbank else read_fasta(e.path)
        for r in reader:
            clean_sequence(r.sequence)
        plain += time.perf_counter() - t0
    return total - plain


def build_in_subprocess(folder: Path, out: Path, reads: int, num_proc: int) -> dict:
    code = (
        "import json, resource, time, sys; from pathlib import Path;"
        "from genobench_hf.data.build import build_all;"
        "t = time.perf_counter();"
        f"s = build_all(Path({str(out)!r}), source=Path({str(folder)!r}), reads_per_genome={reads},"
        f" num_proc={num_proc}, progress=False);"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'bases': s.bases,"
        " 'rows': {d.name: sum(d.rows.values()) for d in s.datasets},"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "genomes")
    parser.add_argument("--reads-per-genome", type=int, default=2000)
    parser.add_argument("--num-proc", type=int, default=1)
    parser.add_argument(
        "--times", type=int, default=10, help="repetitions of the embedded corpus (memory test)"
    )
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="genobench-bench-") as tmp:
        tmp = Path(tmp)
        bases, raw_s = raw_parse(args.source)
        built = build_in_subprocess(args.source, tmp / "out", args.reads_per_genome, args.num_proc)
        raw_rate, build_rate = bases / 1e6 / raw_s, built["bases"] / 1e6 / built["seconds"]
        print(f"source: {args.source} ({bases / 1e6:.1f} Mb)")
        print(f"raw decompress+parse: {raw_s:7.1f} s  {raw_rate:6.2f} Mb/s")
        print(
            f"build (6 datasets):   {built['seconds']:7.1f} s  {build_rate:6.2f} Mb/s  "
            f"ratio {build_rate / raw_rate:.2f}x (goal >= 0.5x)  peak RSS {built['peak_rss_mb']:.0f} MB"
        )
        print(f"rows: {built['rows']}")
        ann = annotation_cost(args.source)
        print(
            f"of which annotation parsing + CDS translation checks: ~{ann:.1f} s; build rate without them "
            f"{built['bases'] / 1e6 / (built['seconds'] - ann):.2f} Mb/s = "
            f"{built['bases'] / 1e6 / (built['seconds'] - ann) / raw_rate:.2f}x raw"
        )
        if not args.skip_memory:
            small = build_in_subprocess(embedded_corpus_dir(), tmp / "small", args.reads_per_genome, 1)
            big_src = repeated_corpus(embedded_corpus_dir(), tmp / "big-src", args.times)
            big = build_in_subprocess(big_src, tmp / "big", args.reads_per_genome, 1)
            print(
                f"peak RSS, embedded corpus ({small['bases'] / 1e6:.0f} Mb): {small['peak_rss_mb']:.0f} MB "
                f"in {small['seconds']:.0f} s"
            )
            print(
                f"peak RSS, {args.times}x corpus ({big['bases'] / 1e6:.0f} Mb): {big['peak_rss_mb']:.0f} MB "
                f"in {big['seconds']:.0f} s (ratio {big['peak_rss_mb'] / small['peak_rss_mb']:.2f}; goal: flat)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
