"""Corpus discovery: genome files + TAXONOMY.tsv (+ optional MANIFEST.tsv) -> :class:`GenomeEntry`.

A corpus folder is laid out like ``../shared/genomes``: ``PRO/``, ``EUK/``, ``VIR/`` hold one genome per
file (FASTA ``.fna/.fa/.fasta``, optionally gzipped, or a GenBank flat file whose ORIGIN is the sequence),
annotations beside them, ``strains/`` holds extra strains that feed the conservation column only. The
taxonomy table is required because splits hold out whole taxa; the manifest only adds provenance and
checksums (a user's folder rarely has one, so its provenance columns are ``-``).

Policy for mismatches (documented in docs/DATASETS.md): a genome without a taxonomy row is an error
naming both files (a dataset row without lineage would break the split guarantees); a taxonomy row whose
file is absent is a warning (one table may describe several folders) and the row is ignored.
"""

from __future__ import annotations

import csv
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

from genobench_hf.errors import InputError
from genobench_hf.task_config import KINGDOMS as CATALOG_KINGDOMS

KINGDOMS = CATALOG_KINGDOMS  # the catalog's (genobench_hf.task_config)
TAXONOMY_COLUMNS = (
    "file",
    "domain",
    "phylum",
    "class",
    "order",
    "family",
    "genus",
    "species",
    "taxid",
    "genetic_code",
)
LINEAGE = ("domain", "phylum", "class", "order", "family", "genus", "species")
FASTA_SUFFIXES = (".fna", ".fa", ".fasta", ".fas")
GENBANK_SUFFIXES = (".gbk", ".gb", ".gbff", ".genbank")
GFF_SUFFIXES = (".gff3", ".gff")
COMPRESSED = ("", ".gz", ".bz2", ".xz")
NCBI_GENETIC_CODES = frozenset(
    {1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 33}
)
MISSING = "-"


@dataclass(frozen=True)
class GenomeEntry:
    """One genome of a corpus with everything a dataset row carries about it."""

    genome_id: str  # file name without its suffixes (.fna.gz etc.)
    file: str  # path relative to the corpus folder, as in TAXONOMY.tsv
    path: Path  # absolute path of the sequence file (FASTA, or GenBank for GenBank-only genomes)
    kingdom: str  # PRO / EUK / VIR (the top folder)
    domain: str
    phylum: str
    class_: str
    order: str
    family: str
    genus: str
    species: str
    taxid: str
    genetic_code: int
    organism: str = MISSING
    accession: str = MISSING
    source: str = MISSING
    license: str = MISSING
    sha256: str = MISSING
    annotation: Path | None = None  # CDS annotation file (GenBank or GFF3), if any

    @property
    def is_genbank(self) -> bool:
        return split_suffix(self.path.name)[1] in GENBANK_SUFFIXES

    def lineage(self) -> dict[str, str]:
        return {
            "domain": self.domain,
            "phylum": self.phylum,
            "class": self.class_,
            "order": self.order,
            "family": self.family,
            "genus": self.genus,
            "species": self.species,
        }


def embedded_corpus_dir() -> Path:
    """The corpus shipped inside the package (a curated subset of the shared genomes)."""
    return Path(__file__).resolve().parents[1] / "corpus"


def split_suffix(name: str) -> tuple[str, str]:
    """``'X.fna.gz' -> ('X', '.fna')``; the kind suffix is lowercased, '' when unknown."""
    lower = name.lower()
    for comp in (*COMPRESSED[1:], ""):
        if comp and not lower.endswith(comp):
            continue
        base = lower[: len(lower) - len(comp)] if comp else lower
        for suffix in FASTA_SUFFIXES + GENBANK_SUFFIXES + GFF_SUFFIXES:
            if base.endswith(suffix):
                return name[: len(base) - len(suffix)], suffix
    return name, ""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _read_tsv(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read table: {exc.strerror or exc}", path=path) from None
    rows = list(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise InputError("empty table", path=path)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; expected {', '.join(required)}", path=path, line=1
        )
    out = []
    for line_no, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{len(row)} fields, header has {len(header)}", path=path, line=line_no)
        out.append((line_no, {h: cell.strip() for h, cell in zip(header, row, strict=True)}))
    return out


def read_taxonomy(path: Path) -> dict[str, tuple[int, dict[str, str]]]:
    """TAXONOMY.tsv keyed by relative file path; checks genetic codes and duplicate rows."""
    table: dict[str, tuple[int, dict[str, str]]] = {}
    for line_no, row in _read_tsv(path, TAXONOMY_COLUMNS):
        if row["file"] in table:
            raise InputError("duplicate taxonomy row", path=path, record=row["file"], line=line_no)
        try:
            code = int(row["genetic_code"])
        except ValueError:
            code = -1
        if code not in NCBI_GENETIC_CODES:
            raise InputError(
                f"genetic_code {row['genetic_code']!r} is not an NCBI translation table",
                path=path,
                record=row["file"],
                line=line_no,
            )
        for col in LINEAGE:
            row[col] = row[col] or MISSING
        table[row["file"]] = (line_no, row)
    return table


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    return {row["file"]: row for _, row in _read_tsv(path, ("file",))}


def _discover(folder: Path, kingdoms: tuple[str, ...]) -> dict[str, tuple[Path, Path | None]]:
    """Relative genome file -> (sequence path, annotation path) by file-name stems within each folder."""
    found: dict[str, tuple[Path, Path | None]] = {}
    for kingdom in kingdoms:
        root = folder / kingdom
        if not root.is_dir():
            continue
        by_stem: dict[Path, dict[str, Path]] = {}
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            stem, kind = split_suffix(path.name)
            if kind:
                by_stem.setdefault(path.parent / stem, {})[kind] = path
        for files in by_stem.values():
            fasta = next((files[s] for s in FASTA_SUFFIXES if s in files), None)
            genbank = next((files[s] for s in GENBANK_SUFFIXES if s in files), None)
            gff = next((files[s] for s in GFF_SUFFIXES if s in files), None)
            seq = fasta or genbank
            if seq is None:
                raise InputError(
                    "annotation file has no FASTA or GenBank genome with the same name", path=gff
                )
            found[seq.relative_to(folder).as_posix()] = (seq, gff or genbank)
    return found


def _entries(
    folder: Path, found, taxonomy: Path, manifest: dict[str, dict[str, str]] | None, kingdom_of
) -> list[GenomeEntry]:
    table = read_taxonomy(taxonomy)
    entries = []
    for rel, (seq, annotation) in sorted(found.items()):
        if rel not in table:
            raise InputError(
                f"genome file {seq} has no row in the taxonomy table (add a row whose 'file' is {rel!r})",
                path=taxonomy,
                record=rel,
            )
        _, row = table[rel]
        prov = (manifest or {}).get(rel, {})
        if manifest is not None and rel in manifest:
            ann_name = next(
                (
                    r["file"]
                    for r in manifest.values()
                    if r.get("annotation_of")
                    and (Path(r["file"]).parent / r["annotation_of"]).as_posix() == rel
                ),
                None,
            )
            if ann_name is not None:
                annotation = folder / ann_name
                _verify(annotation, manifest[ann_name].get("sha256", ""))
            _verify(seq, prov.get("sha256", ""))
        entries.append(
            GenomeEntry(
                genome_id=split_suffix(seq.name)[0],
                file=rel,
                path=seq,
                kingdom=kingdom_of(rel, prov),
                domain=row["domain"],
                phylum=row["phylum"],
                class_=row["class"],
                order=row["order"],
                family=row["family"],
                genus=row["genus"],
                species=row["species"],
                taxid=row["taxid"] or MISSING,
                genetic_code=int(row["genetic_code"]),
                organism=prov.get("organism") or row["species"],
                accession=prov.get("accession") or MISSING,
                source=prov.get("source") or MISSING,
                license=prov.get("license_provenance") or MISSING,
                sha256=prov.get("sha256") or MISSING,
                annotation=annotation,
            )
        )
    ids: dict[str, str] = {}
    for entry in entries:
        if entry.genome_id in ids:
            raise InputError(
                f"two genome files share the genome_id {entry.genome_id!r}: {ids[entry.genome_id]}",
                path=entry.path,
            )
        ids[entry.genome_id] = entry.file
    return entries


def _verify(path: Path, expected: str) -> None:
    if expected and expected != MISSING and sha256_file(path) != expected:
        raise InputError(
            f"sha256 differs from the manifest (expected {expected}); the file is corrupt or changed",
            path=path,
        )


def _warn_orphans(taxonomy: Path, folder: Path, prefixes: tuple[str, ...]) -> None:
    for rel in read_taxonomy(taxonomy):
        if rel.split("/", 1)[0] in prefixes and not (folder / rel).exists():
            warnings.warn(
                f"{taxonomy}: row {rel!r} names a file that is not in {folder}; ignored", stacklevel=3
            )


def load_corpus(folder: Path, taxonomy: Path | None = None) -> list[GenomeEntry]:
    """Genomes of ``folder``'s PRO/EUK/VIR subfolders, sorted by relative path (strains excluded).

    ``taxonomy`` defaults to ``folder/TAXONOMY.tsv``; ``folder/MANIFEST.tsv`` is used when present (its
    sha256 values are verified, streaming).
    """
    folder = Path(folder).resolve()
    taxonomy = Path(taxonomy) if taxonomy is not None else folder / "TAXONOMY.tsv"
    if not folder.is_dir():
        raise InputError("corpus folder does not exist", path=folder)
    if not taxonomy.is_file():
        raise InputError("taxonomy table not found (give --taxonomy TABLE.tsv)", path=taxonomy)
    found = _discover(folder, KINGDOMS)
    if not found:
        raise InputError("no genome files found under PRO/, EUK/ or VIR/", path=folder)
    manifest = read_manifest(folder / "MANIFEST.tsv") if (folder / "MANIFEST.tsv").is_file() else None
    _warn_orphans(taxonomy, folder, KINGDOMS)
    return _entries(folder, found, taxonomy, manifest, lambda rel, _prov: rel.split("/", 1)[0])


def load_strains(folder: Path, taxonomy: Path | None = None) -> list[GenomeEntry]:
    """Genomes of ``folder/strains`` (conservation only; never dataset rows). Empty when absent."""
    folder = Path(folder).resolve()
    taxonomy = Path(taxonomy) if taxonomy is not None else folder / "TAXONOMY.tsv"
    found = _discover(folder, ("strains",))
    if not found:
        return []
    manifest_path = folder / "strains" / "MANIFEST.tsv"
    manifest = read_manifest(manifest_path) if manifest_path.is_file() else None
    return _entries(folder, found, taxonomy, manifest, lambda _rel, prov: prov.get("kingdom") or "PRO")
