"""NCBI download: cached, md5-checked, retried HTTP fetches, and a manifest turned into a corpus folder.

Reproducible corpora need the exact bytes NCBI published, verified and fetched only once: each manifest
row's ``<ftp_path>/<basename>_genomic.fna.gz`` (and ``_genomic.gff.gz`` when ``md5checksums.txt`` lists
it) is fetched once into ``cache_dir/assemblies/<accession>/`` (a file there is only ever placed after its
md5 matched, by atomic rename), then linked or copied into a folder laid out like ``../shared/genomes``
with TAXONOMY.tsv and MANIFEST.tsv. :func:`resolve_manifest_online` fetches the assembly summaries and
new_taxdump into the same cache and applies the selection rule of ``ncbi.py`` (which re-exports this
module's public names).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from genobench_hf.data.ncbi import (
    CATEGORIES,
    KINGDOM_GROUPS,
    LEVELS,
    LICENSE,
    MISSING,
    NCBI_BASE_URL,
    LineageTable,
    ManifestEntry,
    needed_taxids,
    read_manifest,
    select_assemblies,
    write_manifest,
    write_tsv,
)
from genobench_hf.errors import ConfigError, InputError
from genobench_hf.task_config import KINGDOMS

TAXDUMP_PATH = "/pub/taxonomy/new_taxdump/new_taxdump.tar.gz"
TAXONOMY_COLUMNS = ("file", "domain", "phylum", "class", "order", "family", "genus", "species", "taxid",
                    "genetic_code")  # fmt: skip
CORPUS_MANIFEST_COLUMNS = ("file", "kingdom", "content", "organism", "accession", "total_bp", "n_contigs", "gc", "n_N",
                           "n_other_iupac", "softmasked_frac", "annotation_of", "source", "license_provenance",
                           "notes", "gz_bytes", "sha256")  # fmt: skip


def _url(ftp_path: str, base_url: str | None) -> str:
    """Map an assembly's ftp_path (https:// or ftp://) onto ``base_url`` (a mirror, or a test server)."""
    parts = urllib.parse.urlsplit(ftp_path)
    if parts.scheme not in ("http", "https", "ftp") or not parts.netloc:
        raise InputError(f"ftp_path {ftp_path!r} is not a URL")
    if base_url:
        return base_url.rstrip("/") + parts.path.rstrip("/")
    return urllib.parse.urlunsplit(("https", parts.netloc, parts.path.rstrip("/"), "", ""))


def download(url: str, dest: Path, *, md5: str | None = None, retries: int = 3, timeout: float = 60,
             backoff: float = 1.0) -> Path:  # fmt: skip
    """Fetch ``url`` to ``dest`` via a temporary file + rename; retry 5xx/408/429/network errors and md5
    mismatches with exponential backoff; fail at once on other HTTP errors (404: wrong path)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    problem = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        digest = hashlib.md5()
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "genobench (python urllib)"})
            with urllib.request.urlopen(request, timeout=timeout) as resp, tmp.open("wb") as out:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=total, unit="B", unit_scale=True, desc=dest.name, disable=None, leave=False
                ) as bar:
                    got = 0
                    while block := resp.read(1 << 20):
                        got += len(block)
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
            if total is not None and got != total:  # urllib's read(n) returns short data, never raises
                problem = f"connection closed after {got} of {total} bytes"
                continue
            if md5 is not None and digest.hexdigest() != md5.lower():
                problem = f"checksum mismatch: md5 {digest.hexdigest()}, md5checksums.txt says {md5}"
                continue
            os.replace(tmp, dest)
            return dest
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code not in (408, 429):
                raise InputError(f"download failed: HTTP {exc.code} {exc.reason}", path=url) from None
            problem = f"HTTP {exc.code} {exc.reason}"
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets, truncated bodies
            problem = f"{type(exc).__name__}: {exc}"
        finally:
            tmp.unlink(missing_ok=True)
    raise InputError(f"download failed after {retries + 1} attempt(s): {problem}", path=url)


def _md5_table(path: Path) -> dict[str, str]:
    table = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and re.fullmatch(r"[0-9a-fA-F]{32}", parts[0]):
            table[parts[-1].removeprefix("./")] = parts[0].lower()
    return table


_HEADER = re.compile(rb"^>[^\n]*\n?", re.MULTILINE)


def _fasta_stats(path: Path) -> dict[str, str]:
    """MANIFEST statistics of a gzipped FASTA in 4 MB blocks (whole lines; C-level counting); lowercase =
    soft-masked."""
    total = contigs = lower = gc = acgt = n = 0
    rest, started = b"", False
    try:
        with gzip.open(path, "rb") as handle:
            while True:
                block = handle.read(1 << 22)
                data, rest = (rest + block, b"") if not block else _split_lines(rest + block)
                if not started and data.strip():
                    if not data.lstrip().startswith(b">"):
                        raise InputError("not a FASTA file (sequence before the first '>' header)", path=path)
                    started = True
                seq, heads = _HEADER.subn(b"", data)
                seq = seq.translate(None, b" \t\r\n")
                upper = seq.upper()
                contigs, total = contigs + heads, total + len(seq)
                lower += len(seq) - len(seq.translate(None, b"abcdefghijklmnopqrstuvwxyz"))
                g_c = upper.count(b"G") + upper.count(b"C")
                gc, acgt, n = (
                    gc + g_c,
                    acgt + g_c + upper.count(b"A") + upper.count(b"T"),
                    n + upper.count(b"N"),
                )
                if not block:
                    break
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"corrupt gzip FASTA: {exc}", path=path) from None
    return {"total_bp": str(total), "n_contigs": str(contigs), "gc": f"{gc / acgt:.4f}" if acgt else MISSING,
            "n_N": str(n), "n_other_iupac": str(total - acgt - n),
            "softmasked_frac": str(round(lower / total, 4)) if total else MISSING}  # fmt: skip


def _cached_stats(path: Path) -> dict[str, str]:
    """FASTA statistics + gz_bytes + sha256 of a verified cache file, computed once (cache files never change)."""
    memo = path.with_name(path.name + ".stats.tsv")
    if memo.is_file():
        return dict(line.split("\t", 1) for line in memo.read_text(encoding="utf-8").splitlines()[1:])
    stats = {**_fasta_stats(path), "gz_bytes": str(path.stat().st_size), "sha256": _sha256(path)}
    write_tsv(memo, ("key", "value"), ({"key": k, "value": v} for k, v in stats.items()))
    return stats


def _split_lines(data: bytes) -> tuple[bytes, bytes]:
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:]


def _place(src: Path, dest: Path) -> None:
    """Hard-link (or copy) a verified cache file into the corpus, atomically."""
    if dest.is_file() and os.path.samefile(src, dest):
        return  # already linked (renaming a hard link onto itself would be a no-op that leaves tmp behind)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def default_cache_dir() -> Path:
    """``$GENOBENCH_CACHE/ncbi``, else ``~/.cache/genobench/ncbi``."""
    root = os.environ.get("GENOBENCH_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "genobench") / "ncbi"


def materialize_manifest(manifest: Path, out_dir: Path, *, cache_dir: Path | None = None, base_url: str | None = None,
                         retries: int = 3, timeout: float = 60, backoff: float = 1.0) -> Path:  # fmt: skip
    """Download (once, verified) every assembly of ``manifest`` and lay out ``out_dir`` like ../shared/genomes.

    TAXONOMY.tsv and MANIFEST.tsv describe exactly this manifest's genomes (rewritten on every call).
    """
    entries = read_manifest(manifest)
    out_dir, cache = Path(out_dir), Path(cache_dir) if cache_dir is not None else default_cache_dir()
    taxonomy, corpus = [], []
    for e in tqdm(entries, desc="NCBI assemblies", unit="assembly", disable=None):
        remote = _url(e.ftp_path, base_url)
        stem = remote.rsplit("/", 1)[-1]
        held = cache / "assemblies" / e.accession
        sums = held / "md5checksums.txt"
        if not sums.is_file():
            download(f"{remote}/md5checksums.txt", sums, retries=retries, timeout=timeout, backoff=backoff)
        md5s = _md5_table(sums)
        fna, gff = f"{stem}_genomic.fna.gz", f"{stem}_genomic.gff.gz"
        if fna not in md5s:
            raise InputError(f"md5checksums.txt does not list {fna} (is ftp_path right?)", path=f"{remote}/md5checksums.txt",
                             record=e.accession)  # fmt: skip
        for name in (fna, gff) if gff in md5s else (fna,):
            if not (held / name).is_file():
                download(f"{remote}/{name}", held / name, md5=md5s[name], retries=retries, timeout=timeout,
                         backoff=backoff)  # fmt: skip
        rel = f"{e.kingdom}/{e.genome_id}.fna.gz"
        _place(held / fna, out_dir / rel)
        lineage = e.row()
        taxonomy.append({**lineage, "file": rel})
        notes = f"NCBI RefSeq {e.refseq_category}; {e.assembly_level}; md5 verified against md5checksums.txt"
        common = {"kingdom": e.kingdom, "organism": e.organism, "accession": e.accession,
                  "license_provenance": LICENSE, "notes": notes}  # fmt: skip
        corpus.append({**common, **_cached_stats(held / fna), "file": rel, "content": "genome FASTA",
                       "annotation_of": "", "source": f"{remote}/{fna}"})  # fmt: skip
        if gff in md5s:
            rel_gff = f"{e.kingdom}/{e.genome_id}.gff3.gz"
            _place(held / gff, out_dir / rel_gff)
            stats = dict.fromkeys(
                ("total_bp", "n_contigs", "gc", "n_N", "n_other_iupac", "softmasked_frac"), MISSING
            )
            corpus.append({**common, **stats, "file": rel_gff, "content": "annotation (GFF3, NCBI RefSeq)",
                           "annotation_of": f"{e.genome_id}.fna.gz", "source": f"{remote}/{gff}",
                           "gz_bytes": str((out_dir / rel_gff).stat().st_size), "sha256": _sha256(out_dir / rel_gff)})  # fmt: skip
    write_tsv(out_dir / "TAXONOMY.tsv", TAXONOMY_COLUMNS, taxonomy)
    write_tsv(out_dir / "MANIFEST.tsv", CORPUS_MANIFEST_COLUMNS, corpus)
    return out_dir


def resolve_manifest_online(out_path: Path, *, base_url: str = NCBI_BASE_URL, cache_dir: Path | None = None,
                            kingdoms: Sequence[str] = KINGDOMS, per_genus: int = 3,
                            max_per_kingdom: int | None = None, levels: Sequence[str] = LEVELS,
                            categories: Sequence[str] = CATEGORIES, refresh: bool = False, retries: int = 3,
                            timeout: float = 60, backoff: float = 1.0) -> list[ManifestEntry]:  # fmt: skip
    """Download the assembly summaries and new_taxdump (cached; ``refresh`` re-fetches) and write the manifest."""
    unknown = [k for k in kingdoms if k not in KINGDOM_GROUPS]
    if unknown:
        raise ConfigError(f"unknown kingdom(s) {', '.join(unknown)}; expected PRO, EUK or VIR")
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    base = base_url.rstrip("/")

    def fetch(remote: str, local: Path, md5: str | None = None) -> Path:
        if refresh or not local.is_file():
            download(base + remote, local, md5=md5, retries=retries, timeout=timeout, backoff=backoff)
        return local

    paths = {k: [fetch(f"/genomes/refseq/{g}/assembly_summary.txt", cache / "refseq" / g / "assembly_summary.txt")
                 for g in KINGDOM_GROUPS[k]] for k in kingdoms}  # fmt: skip
    dump = cache / "taxonomy" / "new_taxdump.tar.gz"
    if refresh or not dump.is_file():  # the .md5 is fetched with the dump so that the two always match
        sums = download(base + TAXDUMP_PATH + ".md5", dump.with_name(dump.name + ".md5"), retries=retries,
                        timeout=timeout, backoff=backoff)  # fmt: skip
        fetch(TAXDUMP_PATH, dump, md5=(sums.read_text(encoding="utf-8").split() or [""])[0])
    needed = needed_taxids(paths, levels=levels, categories=categories)
    entries = select_assemblies(paths, LineageTable.from_taxdump(dump, needed), per_genus=per_genus,
                                max_per_kingdom=max_per_kingdom, levels=levels, categories=categories)  # fmt: skip
    write_manifest(entries, Path(out_path))
    return entries
