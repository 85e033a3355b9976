"""NCBI assembly selection, offline: assembly summaries + taxonomy -> a manifest of chosen assemblies.

The selection is a documented rule rather than a hand-made list so that a corpus can be rebuilt, or
grown, from NCBI's own tables. Selection rule (every knob is a parameter of :func:`select_assemblies`),
per kingdom (PRO = RefSeq groups bacteria + archaea; EUK = fungi, invertebrate, plant, protozoa,
vertebrate_mammalian, vertebrate_other; VIR = viral), applied to NCBI's
``genomes/refseq/<group>/assembly_summary.txt``:

1. keep rows with ``version_status == "latest"``, ``refseq_category`` in ``categories`` (default
   reference + representative genome), ``assembly_level`` in ``levels`` (default Complete Genome,
   Chromosome, Scaffold, Contig), ``genome_rep == "Full"`` and an ``ftp_path``;
2. order them by (category rank, level rank, accession): earlier categories and levels are preferred;
3. keep at most ``per_genus`` (default 3) per genus (genus unknown: per species, else per assembly);
4. with ``max_per_kingdom``, take the first pick of every genus before any second pick (round robin in
   the order of 2), then cut; the manifest lists each kingdom in the order of 2.

Lineage comes from NCBI's new_taxdump (``rankedlineage.dmp``; the taxon's own name is the species when
the assembly's taxid is the species taxid). The genetic code is ``nodes.dmp``'s genetic code id of the
taxid; without it, 11 for PRO and 1 for EUK and VIR (viral genes are translated with the host's
nuclear code unless the taxonomy says otherwise).

Everything that touches the network or the download cache (fetching summaries and taxdump, turning a
manifest into a corpus folder) lives in ``download.py``, which builds on this module (import
``download``, ``materialize_manifest``, ``resolve_manifest_online``, ... from there).
"""

from __future__ import annotations

import os
import re
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from genobench_hf.errors import ConfigError, InputError

NCBI_BASE_URL = "https://ftp.ncbi.nlm.nih.gov"
KINGDOM_GROUPS = {
    "PRO": ("bacteria", "archaea"),
    "EUK": ("fungi", "invertebrate", "plant", "protozoa", "vertebrate_mammalian", "vertebrate_other"),
    "VIR": ("viral",),
}
DEFAULT_GENETIC_CODE = {"PRO": 11, "EUK": 1, "VIR": 1}
DEFAULT_DOMAIN = {"PRO": "-", "EUK": "Eukaryota", "VIR": "Viruses"}
DOMAINS = frozenset({"Bacteria", "Archaea", "Eukaryota", "Viruses"})
LEVELS = ("Complete Genome", "Chromosome", "Scaffold", "Contig")
CATEGORIES = ("reference genome", "representative genome")
LICENSE = "INSDC/NCBI-RefSeq sequence record (public)"
SUMMARY_REQUIRED = ("assembly_accession", "refseq_category", "taxid", "organism_name", "version_status",
                    "assembly_level", "ftp_path")  # fmt: skip
MANIFEST_REQUIRED = ("accession", "kingdom", "ftp_path")
MISSING = "-"


@dataclass(frozen=True)
class Lineage:
    """One taxid's ranks from rankedlineage.dmp (+ nodes.dmp genetic code); '' where NCBI has none."""

    name: str
    species: str = ""
    genus: str = ""
    family: str = ""
    order: str = ""
    class_: str = ""
    phylum: str = ""
    domain: str = ""
    genetic_code: int | None = None


class LineageTable:
    """taxid -> :class:`Lineage`; load only the taxids needed (the full dump has millions of rows)."""

    def __init__(self, rows: dict[str, Lineage]) -> None:
        self.rows = rows

    def get(self, taxid: str) -> Lineage | None:
        return self.rows.get(taxid)

    @classmethod
    def from_taxdump(cls, path: Path, taxids: Iterable[str] | None = None) -> LineageTable:
        """Read ``new_taxdump.tar.gz`` (streamed, never unpacked) or a folder holding its .dmp files."""
        path = Path(path)
        wanted = None if taxids is None else set(taxids)
        ranked: dict[str, list[str]] = {}
        codes: dict[str, int] = {}

        def consume(name: str, handle: Iterable[str]) -> None:
            for parts in _dmp_rows(handle, wanted):
                if name == "rankedlineage.dmp":
                    ranked[parts[0]] = parts
                elif len(parts) > 6 and parts[6].strip().isdigit():
                    codes[parts[0]] = int(parts[6])

        try:
            if path.is_dir():
                for name in ("rankedlineage.dmp", "nodes.dmp"):
                    if (path / name).is_file():
                        with (path / name).open(encoding="utf-8", errors="replace") as handle:
                            consume(name, handle)
            else:
                with tarfile.open(path, "r|gz") as tar:
                    for member in tar:
                        name = Path(member.name).name
                        if name in ("rankedlineage.dmp", "nodes.dmp") and member.isfile():
                            raw = tar.extractfile(member)
                            assert raw is not None
                            consume(
                                name, (b.decode("utf-8", "replace") for b in raw)
                            )  # stream mode: no TextIOWrapper
        except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
            raise InputError(f"cannot read NCBI taxonomy dump: {exc}", path=path) from None
        if not ranked and wanted != set():
            raise InputError("no rankedlineage.dmp rows found (expected NCBI's new_taxdump)", path=path)
        rows = {}
        for taxid, p in ranked.items():
            p = p + [""] * (10 - len(p))
            domain = next((x for x in p[8:] if x in DOMAINS), "")
            rows[taxid] = Lineage(name=p[1], species=p[2], genus=p[3], family=p[4], order=p[5], class_=p[6],
                                  phylum=p[7], domain=domain, genetic_code=codes.get(taxid))  # fmt: skip
        return cls(rows)


def _dmp_rows(handle: Iterable[str], wanted: set[str] | None) -> Iterator[list[str]]:
    for line in handle:
        if wanted is not None and line.split("\t", 1)[0] not in wanted:
            continue
        line = line.rstrip("\r\n")
        yield (line[:-2] if line.endswith("\t|") else line).split("\t|\t")


@dataclass(frozen=True)
class ManifestEntry:
    """One selected assembly: a manifest row (``class_`` is written as ``class``)."""

    genome_id: str
    accession: str
    kingdom: str
    organism: str
    infraspecific_name: str
    taxid: str
    ftp_path: str
    assembly_level: str
    refseq_category: str
    domain: str
    phylum: str
    class_: str
    order: str
    family: str
    genus: str
    species: str
    genetic_code: str

    def row(self) -> dict[str, str]:
        return {k.rstrip("_"): v for k, v in asdict(self).items()}


MANIFEST_COLUMNS = tuple(f.name.rstrip("_") for f in fields(ManifestEntry))


def genome_id_for(organism: str, strain: str, accession: str) -> str:
    """Filesystem-safe, unique stem: organism (+ strain unless already in it) + accession; no dots."""
    name = organism if not strain or strain in organism else f"{organism} {strain}"
    safe = re.sub(r"[^A-Za-z0-9-]+", "_", name).strip("_")[:80].rstrip("_")
    acc = re.sub(r"[^A-Za-z0-9]+", "_", accession)
    return f"{safe}_{acc}" if safe else acc


def read_assembly_summary(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of an NCBI assembly_summary.txt keyed by its '#assembly_accession ...' header (any column order)."""
    header: list[str] | None = None
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as handle:
            for line_no, line in enumerate(handle, 1):
                line = line.rstrip("\r\n")
                if line.startswith("#"):
                    names = [h.strip() for h in line.lstrip("# ").split("\t")]
                    if "assembly_accession" in names:  # the header: by name, so column order may change
                        header = names
                        missing = [c for c in SUMMARY_REQUIRED if c not in header]
                        if missing:
                            raise InputError(f"assembly summary lacks column(s) {', '.join(missing)}",
                                             path=path, line=line_no)  # fmt: skip
                    continue
                if not line.strip():
                    continue
                if header is None:
                    raise InputError("no '#assembly_accession' header line before the first row", path=path,
                                     line=line_no)  # fmt: skip
                values = line.split("\t")
                if len(values) != len(header):
                    raise InputError(f"{len(values)} fields, header has {len(header)}", path=path, line=line_no,
                                     record=values[0])  # fmt: skip
                yield line_no, dict(zip(header, values, strict=True))
    except OSError as exc:
        raise InputError(f"cannot read assembly summary: {exc.strerror or exc}", path=path) from None


def _candidates(paths: Sequence[Path], levels: Sequence[str], categories: Sequence[str],
                require_full: bool) -> Iterator[dict[str, str]]:  # fmt: skip
    seen: set[str] = set()
    for path in paths:
        for _, row in read_assembly_summary(path):
            if (row["version_status"] == "latest" and row["refseq_category"] in categories
                    and row["assembly_level"] in levels and row["assembly_accession"] not in seen
                    and (not require_full or row.get("genome_rep", "Full") == "Full")
                    and row["ftp_path"] not in ("", "na")):  # fmt: skip
                seen.add(row["assembly_accession"])
                yield row


def _entry(row: dict[str, str], kingdom: str, lineage: LineageTable) -> ManifestEntry:
    taxid, species_taxid = row["taxid"], row.get("species_taxid", "")
    own, of_species = lineage.get(taxid), lineage.get(species_taxid)
    lin = own or of_species or Lineage(name="")
    species = lin.species or (lin.name if (own is None or taxid == species_taxid) else "")
    species = species or (of_species.name if of_species else "")
    strain = row.get("infraspecific_name", "").partition("=")[2] or row.get("isolate", "")
    code = lin.genetic_code or DEFAULT_GENETIC_CODE[kingdom]
    return ManifestEntry(
        genome_id=genome_id_for(row["organism_name"], strain, row["assembly_accession"]),
        accession=row["assembly_accession"], kingdom=kingdom, organism=row["organism_name"],
        infraspecific_name=row.get("infraspecific_name", "") or MISSING, taxid=taxid or MISSING,
        ftp_path=row["ftp_path"], assembly_level=row["assembly_level"], refseq_category=row["refseq_category"],
        domain=lin.domain or DEFAULT_DOMAIN[kingdom], phylum=lin.phylum or MISSING, class_=lin.class_ or MISSING,
        order=lin.order or MISSING, family=lin.family or MISSING, genus=lin.genus or MISSING,
        species=species or MISSING, genetic_code=str(code),
    )  # fmt: skip


def select_assemblies(summary_paths_by_kingdom: dict[str, list[Path]], lineage: LineageTable, *, per_genus: int = 3,
                      max_per_kingdom: int | None = None, levels: Sequence[str] = LEVELS,
                      categories: Sequence[str] = CATEGORIES, require_full: bool = True) -> list[ManifestEntry]:  # fmt: skip
    """Apply the module's selection rule to each kingdom's assembly summaries (order: PRO, EUK, VIR)."""
    if per_genus < 1 or (max_per_kingdom is not None and max_per_kingdom < 1):
        raise ConfigError("per_genus and max_per_kingdom must be at least 1")
    unknown = sorted(set(summary_paths_by_kingdom) - set(KINGDOM_GROUPS))
    if unknown:
        raise ConfigError(f"unknown kingdom(s) {', '.join(unknown)}; expected PRO, EUK or VIR")
    out: list[ManifestEntry] = []
    for kingdom in (k for k in KINGDOM_GROUPS if k in summary_paths_by_kingdom):
        rows = _candidates(summary_paths_by_kingdom[kingdom], levels, categories, require_full)
        entries = [_entry(row, kingdom, lineage) for row in rows]
        key = {e.accession: (categories.index(e.refseq_category), levels.index(e.assembly_level), e.accession)
               for e in entries}  # fmt: skip
        entries.sort(key=lambda e: key[e.accession])
        counts: dict[str, int] = {}
        ranked = []
        for e in entries:
            group = e.genus if e.genus != MISSING else e.species if e.species != MISSING else e.accession
            counts[group] = counts.get(group, 0) + 1
            if counts[group] <= per_genus:
                ranked.append((counts[group], e))
        if max_per_kingdom is not None:
            ranked = sorted(ranked, key=lambda r: (r[0], key[r[1].accession]))[:max_per_kingdom]
        out.extend(sorted((e for _, e in ranked), key=lambda e: key[e.accession]))
    return out


def needed_taxids(summary_paths_by_kingdom: dict[str, list[Path]], *, levels: Sequence[str] = LEVELS,
                  categories: Sequence[str] = CATEGORIES, require_full: bool = True) -> set[str]:  # fmt: skip
    """The taxids (own and species) :func:`select_assemblies` may look up, so that only they are loaded
    from the taxonomy dump (``LineageTable.from_taxdump(path, needed_taxids(...))``)."""
    rows = (row for paths in summary_paths_by_kingdom.values()
            for row in _candidates(paths, levels, categories, require_full))  # fmt: skip
    return {row[c] for row in rows for c in ("taxid", "species_taxid") if row.get(c)}


def write_tsv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, str]]) -> None:
    """Write a TSV with ``columns`` (missing values '-', tabs in values made spaces), atomically."""
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append("\t".join(str(row.get(c, MISSING)).replace("\t", " ") for c in columns))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def write_manifest(entries: Iterable[ManifestEntry], path: Path) -> Path:
    """Write the selection as a TSV manifest (atomically); :func:`materialize_manifest` reads it back."""
    write_tsv(Path(path), MANIFEST_COLUMNS, (e.row() for e in entries))
    return Path(path)


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Manifest rows; only accession, kingdom and ftp_path are required (others default to '-')."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read manifest: {exc.strerror or exc}", path=path) from None
    if not lines:
        raise InputError("empty manifest", path=path)
    header = [h.strip() for h in lines[0].split("\t")]
    missing = [c for c in MANIFEST_REQUIRED if c not in header]
    if missing:
        raise InputError(f"manifest lacks column(s) {', '.join(missing)}", path=path, line=1)
    out, ids = [], {}
    for line_no, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        values = line.split("\t")
        if len(values) != len(header):
            raise InputError(f"{len(values)} fields, header has {len(header)} (a column is missing)", path=path,
                             line=line_no, record=values[0])  # fmt: skip
        row = {h: v.strip() or MISSING for h, v in zip(header, values, strict=True)}
        if row["kingdom"] not in KINGDOM_GROUPS:
            raise InputError(f"kingdom {row['kingdom']!r} is not PRO, EUK or VIR", path=path, line=line_no)
        if row["ftp_path"] in (MISSING, "na") or row["accession"] == MISSING:
            raise InputError("accession and ftp_path are required", path=path, line=line_no)
        row.setdefault("genome_id", MISSING)
        if row["genome_id"] == MISSING:
            strain = row.get("infraspecific_name", MISSING).partition("=")[2]
            row["genome_id"] = genome_id_for(
                row.get("organism", MISSING).strip("-"), strain, row["accession"]
            )
        if not re.fullmatch(r"[A-Za-z0-9_-]+", row["genome_id"]) or row["genome_id"] in ids:
            raise InputError(f"genome_id {row['genome_id']!r} is unsafe or repeated", path=path, line=line_no)
        ids[row["genome_id"]] = line_no
        known = {c: row.get(c, MISSING) for c in MANIFEST_COLUMNS}
        if known["genetic_code"] == MISSING:
            known["genetic_code"] = str(DEFAULT_GENETIC_CODE[row["kingdom"]])
        out.append(ManifestEntry(**{f.name: known[f.name.rstrip("_")] for f in fields(ManifestEntry)}))
    return out
