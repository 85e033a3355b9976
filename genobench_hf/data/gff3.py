"""GFF3 reader: the CDS lines of a GFF3 file as an ``AnnotationFile`` (the model in ``annotations.py``).

GFF3 is how NCBI and most pipelines ship gene annotations next to a FASTA genome. Lines are parsed
strictly (malformed ones raise InputError naming file, line and record); CDS lines sharing an ID (else a
Parent) form one spliced CDS, mixed-strand groups are skipped and counted, record lengths come from
``##sequence-region`` pragmas, and reading stops at ``##FASTA``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from genobench_hf.data.cds import AnnotationFile, make_cds, optional_int, pick_gene_id
from genobench_hf.data.fasta import open_text
from genobench_hf.errors import InputError


def _gff_attributes(text: str) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for item in text.strip().split(";"):
        item = item.strip()
        if item:
            key, _, value = item.partition("=")
            # percent-decoding is needed only where there is a '%' (unquote returns the rest unchanged)
            attrs[unquote(key) if "%" in key else key] = unquote(value) if "%" in value else value
    return attrs


def read_gff3(path: str | Path) -> AnnotationFile:
    """Read the CDS of a GFF3 file: lines sharing an ID (else a Parent) form one spliced CDS.

    CDS lines with neither ID nor Parent stand alone. Reading stops at ``##FASTA``. Record lengths come
    from ``##sequence-region`` pragmas (None where absent).
    """
    p = Path(path)
    out = AnnotationFile(path=p, records={}, record_lengths={})
    groups: dict[tuple[str, str], list[tuple[int, int, int, str, str, dict[str, str]]]] = {}
    with open_text(p) as fh:
        for line_no, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if line.startswith("##FASTA"):
                break
            if line.startswith("##sequence-region"):
                words = line.split()
                if len(words) == 4 and words[3].isdigit():
                    out.record_lengths[words[1]] = int(words[3])
                    out.records.setdefault(words[1], [])
                continue
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 9:
                raise InputError(f"expected 9 tab-separated columns, found {len(cols)}", path=p, line=line_no)
            seqid, ftype = cols[0], cols[2]
            if (
                "\ufffd" in seqid
            ):  # undecodable bytes (fasta.open_text replaces them): the id is not the file's
                raise InputError(
                    "seqid holds bytes that are not UTF-8 (read as U+FFFD)", path=p, line=line_no
                )
            out.records.setdefault(seqid, [])
            out.record_lengths.setdefault(seqid, None)
            if ftype != "CDS":
                continue
            try:
                start, end = int(cols[3]), int(cols[4])
            except ValueError:
                raise InputError("start/end must be integers", path=p, line=line_no, record=seqid) from None
            if start < 1 or end < start:
                raise InputError(f"bad CDS coordinates {start}..{end}", path=p, line=line_no, record=seqid)
            if cols[6] not in ("+", "-"):
                raise InputError(
                    f"CDS strand must be '+' or '-', got {cols[6]!r}", path=p, line=line_no, record=seqid
                )
            if cols[7] not in ("0", "1", "2", "."):
                raise InputError(
                    f"CDS phase must be 0, 1, 2 or '.', got {cols[7]!r}", path=p, line=line_no, record=seqid
                )
            attrs = _gff_attributes(cols[8])
            key = attrs.get("ID") or (
                f"Parent={attrs['Parent']}" if attrs.get("Parent") else f"line={line_no}"
            )
            phase = 0 if cols[7] == "." else int(cols[7])
            groups.setdefault((seqid, key), []).append((line_no, start - 1, end, cols[6], str(phase), attrs))
    for (seqid, _key), rows in groups.items():
        strand = rows[0][3]
        if any(r[3] != strand for r in rows):
            out.skipped["mixed strands (trans-splicing)"] += 1
            continue
        rows.sort(key=lambda r: r[1], reverse=strand == "-")
        pieces = [(r[1], r[2], strand) for r in rows]
        attrs: dict[str, str] = {}
        for r in rows:
            for k, v in r[5].items():
                attrs.setdefault(k, v)
        table = optional_int(attrs.get("transl_table"), "transl_table", p, rows[0][0], seqid)
        out.records[seqid].append(
            make_cds(
                seqid,
                pieces,
                gene_id=pick_gene_id(attrs, ("ID", "Parent", "Name", "gene_name"), seqid, pieces),
                codon_start=int(rows[0][4]) + 1,
                transl_table=table,
                translation=None,
                partial=attrs.get("partial") == "true" or "start_range" in attrs or "end_range" in attrs,
                pseudo=attrs.get("pseudo") == "true",
            )
        )
    if not out.records:
        raise InputError("no GFF3 features found", path=p)
    return out
