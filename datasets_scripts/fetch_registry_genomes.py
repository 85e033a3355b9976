"""Fetch real genomes that ship inside registry packages (Debian, PyPI) into a corpus folder, verified.

Bioinformatics packages carry real genomes as test or example data (docs/CORPUS_SOURCES.md lists what was
searched and found). ``registry_genomes.tsv`` beside this script names, per output genome, the package,
its version, the file inside it and that file's sha256; this script downloads each package once with the
registry's ordinary client (``apt-get download`` / ``pip download --no-deps``), extracts the listed file,
refuses it unless its sha256 matches, keeps the listed records (optionally one region of one record), and
writes ``<out>/<file>`` (gzip, mtime 0, 80-column lines, so a rerun gives the same bytes) plus
MANIFEST.tsv / TAXONOMY.tsv rows with the columns of ``genobench_hf/corpus``. It never writes into the
embedded corpus unless ``--out`` points there: which genomes join the corpus is the lead's decision.

    python datasets_scripts/fetch_registry_genomes.py --out /tmp/registry_corpus [--only EUK/Mus_...]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import lzma
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from genobench_hf.data.download import CORPUS_MANIFEST_COLUMNS, TAXONOMY_COLUMNS, _fasta_stats
from genobench_hf.data.fasta import FastaRecord, read_fasta
from genobench_hf.data.genbank import read_genbank_sequences
from genobench_hf.data.ncbi import write_tsv
from genobench_hf.data.taxonomy import _read_tsv, sha256_file
from genobench_hf.errors import InputError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LIST = Path(__file__).with_name("registry_genomes.tsv")
REGISTRIES = ("debian", "pypi-sdist", "pypi-wheel")
FORMATS = ("fasta", "genbank")
CASES = (
    "keep",
    "upper",
)  # 'upper' where lowercase carries no soft-mask meaning (GenBank ORIGIN, all-lowercase files)
LIST_COLUMNS = ("file", "registry", "package", "version", "member", "member_sha256", "format", "records",
                "region", "case", "kingdom", "organism", "accession", "license_provenance", "notes",
                *TAXONOMY_COLUMNS[1:])  # fmt: skip
_SHA = re.compile(r"^[0-9a-f]{64}$")
_REGION = re.compile(r"^(\d+)-(\d+)$")
LINE = 80


@dataclass(frozen=True)
class Source:
    """One output genome: where it comes from, what to keep, and its MANIFEST/TAXONOMY metadata."""

    row: dict[str, str]
    line: int

    @property
    def file(self) -> str:
        return self.row["file"]

    @property
    def package_key(self) -> tuple[str, str, str]:
        return self.row["registry"], self.row["package"], self.row["version"]

    def records(self) -> list[str] | None:
        """Record ids to keep in this order, or None for all."""
        value = self.row["records"]
        return None if value == "*" else [r.strip() for r in value.split(",")]

    def region(self) -> tuple[int, int] | None:
        """1-based inclusive (start, end) of the single kept record, or None for whole records."""
        match = _REGION.match(self.row["region"])
        return (int(match[1]), int(match[2])) if match else None


def read_list(path: Path) -> list[Source]:
    """Parse and check the package/member list; InputError names the line and what is wrong."""
    sources, seen = [], set()
    for line, row in _read_tsv(path, LIST_COLUMNS):

        def bad(msg: str, line: int = line) -> InputError:
            return InputError(msg, path=path, line=line)

        file = row["file"]
        if (
            not re.match(r"^(PRO|EUK|VIR)/[A-Za-z0-9_.+-]+\.fna\.gz$", file)
            or file.split("/")[0] != row["kingdom"]
        ):
            raise bad(f"file {file!r} must be <kingdom>/<name>.fna.gz with kingdom {row['kingdom']!r}")
        if file in seen:
            raise bad(f"duplicate file {file!r}")
        seen.add(file)
        if row["registry"] not in REGISTRIES:
            raise bad(f"registry {row['registry']!r} is not one of {', '.join(REGISTRIES)}")
        if row["format"] not in FORMATS:
            raise bad(f"format {row['format']!r} is not one of {', '.join(FORMATS)}")
        if row["case"] not in CASES:
            raise bad(f"case {row['case']!r} is not one of {', '.join(CASES)}")
        if not _SHA.match(row["member_sha256"]):
            raise bad(f"member_sha256 {row['member_sha256']!r} is not 64 lowercase hex digits")
        if not row["package"] or not row["version"] or not row["member"] or row["member"].startswith("/"):
            raise bad("package, version and a relative member path are required")
        source = Source(row, line)
        if row["region"]:
            region = source.region()
            if region is None or not 1 <= region[0] <= region[1]:
                raise bad(f"region {row['region']!r} is not START-END (1-based, START <= END)")
            if source.records() is None or len(source.records() or []) != 1:
                raise bad("a region needs exactly one record named in 'records'")
        sources.append(source)
    return sources


def _run(cmd: Sequence[str], cwd: Path) -> None:
    result = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"{' '.join(cmd)} failed (exit {result.returncode}): {tail[0]}")


def fetch_package(key: tuple[str, str, str], cache: Path) -> Path:
    """Download one package version (once) and extract it; return the folder member paths start from."""
    registry, package, version = key
    root = cache / f"{registry}_{package}_{version}".replace("/", "_").replace(":", "_")
    done = root / ".complete"
    if done.is_file():
        return Path(done.read_text(encoding="utf-8"))
    dl = root / "download"
    dl.mkdir(parents=True, exist_ok=True)
    tree = root / "tree"
    if registry == "debian":
        _run(["apt-get", "download", f"{package}={version}"], dl)
        _run(["dpkg-deb", "-x", str(next(dl.glob("*.deb"))), str(tree)], dl)
    else:
        kind = ["--no-binary", ":all:"] if registry == "pypi-sdist" else ["--only-binary", ":all:"]
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                *kind,
                "-d",
                str(dl),
                f"{package}=={version}",
            ],
            dl,
        )
        archive = next(p for p in dl.iterdir() if p.is_file())
        if archive.name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tree)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(tree, filter="data")
        tops = list(tree.iterdir())
        if registry == "pypi-sdist" and len(tops) == 1 and tops[0].is_dir():
            tree = tops[0]  # member paths of an sdist start below its <name>-<version>/ folder
    done.write_text(str(tree), encoding="utf-8")
    return tree


@contextlib.contextmanager
def _readable(path: Path) -> Iterator[Path]:
    """The member itself, or (``.xz``, which the FASTA reader does not open) a decompressed temporary copy."""
    if path.suffix != ".xz":
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="genobench_xz_") as tmp:
        plain = Path(tmp) / path.stem
        try:
            with lzma.open(path) as src, plain.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        except lzma.LZMAError as exc:
            raise InputError(f"corrupt xz file: {exc}", path=path) from None
        yield plain


def _selected(source: Source, path: Path) -> Iterator[FastaRecord]:
    """The kept records (in the listed order) of the verified member file, a region cut if asked."""
    with _readable(path) as readable:
        yield from _kept(source, readable)


def _kept(source: Source, path: Path) -> Iterator[FastaRecord]:
    reader = read_fasta if source.row["format"] == "fasta" else read_genbank_sequences
    wanted = source.records()
    by_id = {}
    for rec in reader(path):
        if wanted is None:
            yield rec
        elif rec.id in wanted:
            by_id[rec.id] = rec
    if wanted is None:
        return
    missing = [r for r in wanted if r not in by_id]
    if missing:
        raise InputError(f"record(s) {', '.join(missing)} not in the package file", path=path)
    region = source.region()
    for rid in wanted:
        rec = by_id[rid]
        if region is not None:
            start, end = region
            if end > len(rec.sequence):
                raise InputError(
                    f"region end {end} beyond the record's {len(rec.sequence)} bp", path=path, record=rid
                )
            rec = FastaRecord(f"{rec.id}:{start}-{end}", rec.description, rec.sequence[start - 1 : end])
        yield rec


def write_genome(source: Source, member: Path, dest: Path) -> None:
    """Check the member's sha256, then write the kept records as a reproducible gzip FASTA (atomically)."""
    got = sha256_file(member)
    if got != source.row["member_sha256"]:
        raise InputError(
            f"sha256 {got} != listed {source.row['member_sha256']} (package file changed?)", path=member
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    try:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            for rec in _selected(source, member):
                desc = f" {rec.description}" if rec.description else ""
                seq = rec.sequence.upper() if source.row["case"] == "upper" else rec.sequence
                body = "\n".join(seq[i : i + LINE] for i in range(0, len(seq), LINE))
                gz.write(f">{rec.id}{desc}\n{body}\n".encode("ascii"))
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)


def source_text(row: dict[str, str]) -> str:
    """The MANIFEST 'source' cell, in the style of the existing corpus rows."""
    if row["registry"] == "debian":
        return f"Debian {row['package']} {row['version']}: /{row['member']}"
    kind = "sdist" if row["registry"] == "pypi-sdist" else "wheel"
    return f"PyPI {row['package']} {row['version']} {kind}: {row['member']}"


def manifest_row(source: Source, dest: Path) -> dict[str, str]:
    row = source.row
    return {"file": row["file"], "kingdom": row["kingdom"], "content": "genome FASTA", "organism": row["organism"],
            "accession": row["accession"], **_fasta_stats(dest), "annotation_of": "", "source": source_text(row),
            "license_provenance": row["license_provenance"], "notes": row["notes"],
            "gz_bytes": str(dest.stat().st_size), "sha256": sha256_file(dest)}  # fmt: skip


def _merge(path: Path, columns: Sequence[str], new: dict[str, dict[str, str]]) -> None:
    """Rewrite a MANIFEST/TAXONOMY table: existing rows kept (replaced when the same file is rewritten)."""
    rows = {r["file"]: r for _, r in _read_tsv(path, columns)} if path.is_file() else {}
    rows.update(new)
    write_tsv(path, columns, rows.values())


def materialize(
    sources: Sequence[Source], out: Path, fetch: Callable[[tuple[str, str, str]], Path]
) -> list[Path]:
    """Write every source's genome into ``out`` and merge its rows into out/MANIFEST.tsv and TAXONOMY.tsv."""
    manifest, taxonomy, written = {}, {}, []
    for source in sources:
        member = fetch(source.package_key) / source.row["member"]
        if not member.is_file():
            raise InputError(
                f"{source.row['member']} not found in {' '.join(source.package_key)}", line=source.line
            )
        dest = out / source.file
        write_genome(source, member, dest)
        manifest[source.file] = manifest_row(source, dest)
        taxonomy[source.file] = {c: source.row[c] for c in TAXONOMY_COLUMNS}
        written.append(dest)
    _merge(out / "MANIFEST.tsv", CORPUS_MANIFEST_COLUMNS, manifest)
    _merge(out / "TAXONOMY.tsv", TAXONOMY_COLUMNS, taxonomy)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", type=Path, default=DEFAULT_LIST, help="package/member TSV")
    parser.add_argument(
        "--out", type=Path, required=True, help="corpus folder to write (PRO/EUK/VIR + tables)"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="where packages are downloaded (default: temp)"
    )
    parser.add_argument("--only", nargs="*", default=None, help="output files to fetch (default: all rows)")
    args = parser.parse_args(argv)
    try:
        sources = read_list(args.list)
        if args.only:
            unknown = sorted(set(args.only) - {s.file for s in sources})
            if unknown:
                raise InputError(f"--only names files not in the list: {', '.join(unknown)}", path=args.list)
            sources = [s for s in sources if s.file in args.only]
        with tempfile.TemporaryDirectory(prefix="genobench_registry_") as tmp:
            cache = args.cache or Path(tmp)
            for dest in materialize(sources, args.out, lambda key: fetch_package(key, cache)):
                print(dest)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
