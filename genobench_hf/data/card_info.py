"""What a dataset card says beyond the YAML: descriptions, column meanings, the conservation section.

The template is ``genobench_hf/cards/dataset_card.md`` (package data); ``hub.write_card`` renders it with
the variables ``build._write_dataset`` collects from here. Everything here is deterministic (no timings),
so a card depends only on the data and the build options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genobench_hf.data.conservation import AGREE_COLUMN, ALIGNED_COLUMN, STRAINS_COLUMN

DESCRIPTIONS = {
    "PRO": "Prokaryote (bacteria and archaea) genomes, one row per contig or 1 Mb chunk, with CDS annotations.",
    "EUK": "Eukaryote genome pieces, one row per contig or 1 Mb chunk, with CDS annotations where available.",
    "VIR": "Virus and phage genomes, one row per contig/segment, with CDS annotations where available.",
}
COLUMN_DOCS = {
    "genome_id": "genome file stem",
    "file": "genome file, relative to the corpus folder",
    "contig_id": "FASTA/GenBank record id",
    "description": "record description (FASTA header)",
    "chunk_index": "index of this window of the contig",
    "chunk_start": "contig coordinate of `sequence[0]`",
    "contig_length": "length of the whole contig",
    "length": "length of `sequence`",
    "sequence": "uppercase nucleotides (IUPAC kept)",
    "gc": "G+C share of the ACGT bases",
    "n_non_acgt": "number of non-ACGT positions",
    "softmask": "lowercase (soft-masked) intervals, row coordinates",
    "non_acgt": "non-ACGT intervals, row coordinates",
    "kingdom": "PRO / EUK / VIR",
    "domain": "lineage",
    "phylum": "lineage",
    "class": "lineage",
    "order": "lineage",
    "family": "lineage",
    "genus": "lineage (`-` = unknown)",
    "species": "lineage",
    "taxid": "NCBI taxid (`-` = unknown)",
    "genetic_code": "NCBI translation table of the genome",
    "organism": "organism as in the source record",
    "accession": "INSDC/RefSeq accession(s)",
    "source": "where the file was taken from",
    "license": "licence/provenance text",
    "sha256": "sha256 of the genome file",
    "split": "split name",
    "cds": "CDS segments overlapping the row: contig coordinates, strand, phase, gene_id, transl_table, translation_ok",
    STRAINS_COLUMN: "strain genome ids aligned to this genome (empty: no conservation track)",
    ALIGNED_COLUMN: "bytes, one per `sequence` position: strains with an ACGT base aligned there (null: no track)",
    AGREE_COLUMN: "bytes, one per `sequence` position: aligned strains whose base equals the reference (null: no track)",
    "read_id": "`genome_id:index`",
    "start": "contig coordinate of the fragment's start on `+`",
    "end": "contig coordinate of the fragment's end on `+`",
    "strand": "`+` or `-` (sequence reverse-complemented)",
}


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def conservation_context(enabled: bool, summaries: Mapping[str, Mapping], genome_ids: Sequence[str]) -> dict:
    """Template variables of the card's conservation section for a contig dataset.

    ``summaries`` maps genome id -> ``ConservationTrack.summary()`` for the genomes that have a track.
    ``conservation_state`` is ``off`` (built with ``--no-conservation``), ``none`` (no genome of the
    dataset has strains) or ``on``.
    """
    rows = [
        {
            "genome_id": gid,
            "strains": ", ".join(summaries[gid]["strains"]),
            "preset": summaries[gid]["preset"],
            "coverage": _share(summaries[gid]["coverage"]),
            "coverage_all": _share(summaries[gid]["coverage_all_strains"]),
            "conserved": _share(summaries[gid]["share_conserved"]),
            "mean": _share(summaries[gid]["mean_conservation"]),
        }
        for gid in genome_ids
        if gid in summaries
    ]
    state = "off" if not enabled else "on" if rows else "none"
    return {"conservation_state": state, "conservation_rows": rows}
