"""Write the embedded corpus (``genobench_hf/corpus/``) from ``../shared/genomes`` and the registry
genomes, reproducibly.

The package ships a <= 25 MB (``MAX_BYTES``) subset of the shared real-genome folder so that ``genobench datasets build``
works on a fresh machine. Files are copied byte for byte (sha256 checked against the source MANIFEST, or
against the pinned digests below for strains/, whose MANIFEST has none). The one derived file (three
yeast chromosomes) is written with gzip mtime=0, so running this script again reproduces the folder
exactly; ``--check`` verifies that instead of writing. The selection and its sizes are in docs/DATASETS.md.

The eukaryote genomes found inside Debian packages (``REGISTRY_KEEP``) are not in ../shared: fetch them
first with ``python datasets_scripts/fetch_registry_genomes.py --out /tmp/registry_corpus`` (sha256 of
each package member checked, reproducible gzip) and pass that folder as ``--registry``; their files and
MANIFEST/TAXONOMY rows are copied from it (sha256 checked against its MANIFEST) after the shared ones.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
from pathlib import Path

from genobench_hf.data.taxonomy import sha256_file

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO.parent / "shared" / "genomes"
DEFAULT_OUT = REPO / "genobench_hf" / "corpus"
#: the embedded corpus's size limit (it ships in the wheel and travels with every checkout)
MAX_BYTES = 25_000_000

#: genome FASTA files kept (their annotation files follow automatically via MANIFEST's annotation_of)
KEEP = (
    "PRO/Escherichia_coli_K-12_MG1655.fna.gz",  # Markov sanity anchor
    "PRO/Chlamydia_trachomatis_D-UW-3-CX.fna.gz",  # annotated
    "PRO/Streptococcus_pyogenes_M1_GAS.fna.gz",  # annotated
    "PRO/Mycoplasmoides_alvi_ATCC29626.fna.gz",  # annotated, genetic code 4, draft with N runs
    "PRO/Streptomyces_globisporus_C-1027_cluster.fna.gz",  # annotated, high GC, one IUPAC code
    "PRO/Helicobacter_pylori_G27.fna.gz",  # reference of the H. pylori strains
    "PRO/Staphylococcus_aureus_N315.fna.gz",  # reference of the S. aureus strains
    "PRO/ARCHAEA_Acidilobus_saccharovorans_345-15.fna.gz",
    "PRO/ARCHAEA_Methanobrevibacter_ruminantium_M1.fna.gz",
    "PRO/Candidatus_Carsonella_ruddii_DC.fna.gz",  # small, extreme AT
    "PRO/Bacillus_amyloliquefaciens_OFHT01000022_contig.fna.gz",  # small
    "PRO/Bartonella_henselae_Houston-1.fna.gz",
    "PRO/Thermodesulfatator_indicus_DSM15286.fna.gz",
    "PRO/Corynebacterium_diphtheriae_NCTC11397.fna.gz",
    "EUK/Arabidopsis_thaliana_TAIR10_chr1_1-2Mb.fna.gz",  # annotated (GFF3), soft-masked, chunked
    "EUK/Drosophila_melanogaster_BACR25B3.fna.gz",  # annotated
    "EUK/Caenorhabditis_elegans_ce2_chrX_1-2Mb.fna.gz",
    "EUK/Homo_sapiens_chr1_fragment_330kb.fna.gz",
    "EUK/Homo_sapiens_TPA_unplaced_scaffolds_1Mb.fna.gz",
    # every VIR genome (all small; most annotated)
    *(
        f"VIR/{name}.fna.gz"
        for name in (
            "Escherichia_phage_lambda",
            "Escherichia_phage_T4",
            "Escherichia_phage_phiX174",
            "Escherichia_phage_VT2-Sakai",
            "Bacillus_phage_Gamma",
            "phage_Agate_metagenomic",
            "phage_Topaz_metagenomic",
            "SARS-CoV-2_Wuhan-Hu-1",
            "Monkeypox_virus_clade_IIb",
            "Human_herpesvirus_3_VZV_Dumas",
            "HIV-1_HXB2",
            "Measles_virus",
            "Zaire_ebolavirus_Mayinga",
            "Marburg_virus_Musoke",
            "Zika_virus_Natal",
            "Hepatitis_A_virus",
            "West_Nile_virus_lineage1",
            "Human_metapneumovirus_00-1",
            "Enterovirus_D68_Fermon",
            "Rubella_virus_2B",
            "Influenza_A_H1N1_California_07_2009",
            "Cannabis_sativa_mitovirus_1_isolate_UdeA2",
            "ssRNA_phage_SRR5466725_1",
        )
    ),
)

#: eukaryote genomes from registry packages (datasets_scripts/registry_genomes.tsv, docs/CORPUS_SOURCES.md);
#: no PRO/VIR registry genome joins: the PRO and VIR splits stay as they were
REGISTRY_KEEP = (
    "EUK/Plasmodium_falciparum_3D7_MAL1-2.fna.gz",
    "EUK/Drosophila_melanogaster_dm3_chr2R_5-7Mb.fna.gz",
    "EUK/Homo_sapiens_hg19_chr3_42-44Mb.fna.gz",
    "EUK/Mus_musculus_mm10_chr17_26.10-26.28Mb.fna.gz",
    "EUK/Rattus_norvegicus_rn6_chr10_15.47-15.57Mb.fna.gz",
    "EUK/Macaca_mulatta_rheMac3_chr20_0.15-0.37Mb.fna.gz",
    "EUK/Canis_lupus_familiaris_canFam3_chr6_40.13-40.31Mb.fna.gz",
    "EUK/Bos_taurus_bosTau8_chr25_0.22-0.38Mb.fna.gz",
    "EUK/Gallus_gallus_galGal4_chr14_12.11-12.26Mb.fna.gz",
    "EUK/Monodelphis_domestica_monDom5_chr6_149.45-149.99Mb.fna.gz",
)

#: strains kept for the conservation column; strains/MANIFEST.tsv has no sha256 column, so pin them here
STRAINS = {
    "strains/Helicobacter_pylori_ELS37.fna.gz": "cbb724aae0e46b32488606ec436679e58631943b39abcc37049989dd47aed49c",
    "strains/Helicobacter_pylori_Gambia94_24.fna.gz": "92e4798809e20eb07cbc08bd4f2536b316a7a0cd3dd8d596b7638f9dd6d626f6",
    "strains/Helicobacter_pylori_Puno120.fna.gz": "79fa6c9c68e8ea4feeec8a33bdf510a2f48c15c14cb04379e5ef72e44434557f",
    "strains/Helicobacter_pylori_SJM180.fna.gz": "6b5971d7c592ad7c4e609845e4667c3fd27f2ab73967b6475677295e2ba5d879",
    "strains/Staphylococcus_aureus_COL.fna.gz": "e42c7cbcb34ea73ed05d79eff4e222d8852caf412c859a94a7feb03ec42d0648",
    "strains/Staphylococcus_aureus_JKD6008.fna.gz": "f05727535ae62475899e6505741771b03710de6290c18f7c3d88826089a0c7a4",
    "strains/Staphylococcus_aureus_RF122.fna.gz": "462b4f0756da814c67b526f5a226ec0c53125ddf1cb8c89acc968fc7c5e16996",
    "strains/Staphylococcus_aureus_USA300_FPR3757.fna.gz": "61066f50bd925c6adc75fd98df7c864b1bfcbfa30f3c773b2a4a3a88084041d4",
}

#: the yeast genome (3.6 MB gz) does not fit; keep three small complete chromosomes as a derived file
YEAST_SOURCE = "EUK/Saccharomyces_cerevisiae_S288C_nuclear.fna.gz"
YEAST_DERIVED = "EUK/Saccharomyces_cerevisiae_S288C_chrI_III_VI.fna.gz"
YEAST_RECORDS = ("BK006935.2", "BK006937.2", "BK006940.2")  # chromosomes I, III, VI

README = """# Embedded genobench corpus (generated; do not edit)

Written by `datasets_scripts/curate_corpus.py --shared ../shared/genomes --registry /tmp/registry_corpus`;
a subset of the shared real genomes (same layout, original MANIFEST/TAXONOMY rows) plus {registry} eukaryote
genomes found inside Debian packages (written by `datasets_scripts/fetch_registry_genomes.py --out
/tmp/registry_corpus`, which checks each package member's sha256; sources: docs/CORPUS_SOURCES.md). Every
file is a byte-for-byte copy of the shared or fetched file except `{derived}`, which holds chromosomes I,
III and VI of `{source}` copied verbatim (see its MANIFEST notes: `derived_from`). Selection and sizes:
docs/DATASETS.md.
"""


def read_table(path: Path) -> tuple[str, list[str]]:
    """Header line and data lines, verbatim (so rows keep their original provenance text)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0], [line for line in lines[1:] if line.strip()]


def write_yeast_subset(source: Path, out: Path) -> tuple[int, int, float]:
    """Copy the chosen records' lines verbatim; return (bases, records, gc)."""
    keep = False
    bases = gc = records = 0
    lines: list[bytes] = []
    with gzip.open(source, "rb") as handle:
        for line in handle:
            if line.startswith(b">"):
                keep = any(f"|{acc}|".encode() in line for acc in YEAST_RECORDS)
                records += keep
            elif keep:
                seq = line.strip().upper()
                bases += len(seq)
                gc += seq.count(b"G") + seq.count(b"C")
            if keep:
                lines.append(line)
    if records != len(YEAST_RECORDS):
        raise SystemExit(f"{source}: expected records {YEAST_RECORDS}, found {records}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz,
    ):
        gz.writelines(lines)
    return bases, records, gc / bases


def copy_registry(registry: Path, out: Path) -> tuple[list[str], list[str]]:
    """Copy the ``REGISTRY_KEEP`` files from a fetch_registry_genomes.py folder; return their MANIFEST and
    TAXONOMY rows (verbatim)."""
    if not (registry / "MANIFEST.tsv").is_file():
        raise SystemExit(
            f"{registry}/MANIFEST.tsv not found: run `python datasets_scripts/fetch_registry_genomes.py "
            f"--out {registry}` first"
        )
    header, rows = read_table(registry / "MANIFEST.tsv")
    cols = header.split("\t")
    by_file = {row.split("\t")[0]: row for row in rows}
    _, tax_rows = read_table(registry / "TAXONOMY.tsv")
    tax_by_file = {row.split("\t")[0]: row for row in tax_rows}
    missing = [name for name in REGISTRY_KEEP if name not in by_file or name not in tax_by_file]
    if missing:
        raise SystemExit(f"{registry}: no MANIFEST/TAXONOMY row for {', '.join(missing)}")
    for name in REGISTRY_KEEP:
        if sha256_file(registry / name) != by_file[name].split("\t")[cols.index("sha256")]:
            raise SystemExit(f"{registry / name}: sha256 differs from its MANIFEST.tsv; refusing to copy")
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(registry / name, out / name)
    return [by_file[n] for n in REGISTRY_KEEP], [tax_by_file[n] for n in REGISTRY_KEEP]


def curate(shared: Path, out: Path, registry: Path) -> None:
    header, rows = read_table(shared / "MANIFEST.tsv")
    cols = header.split("\t")
    by_file = {row.split("\t")[0]: row for row in rows}
    wanted = list(KEEP)
    wanted += [
        row.split("\t")[0]
        for row in rows
        if row.split("\t")[cols.index("annotation_of")]
        and str(Path(row.split("\t")[0]).parent / row.split("\t")[cols.index("annotation_of")]) in KEEP
    ]
    manifest_out = [header]
    for name in wanted:
        row = by_file[name]
        expected = row.split("\t")[cols.index("sha256")]
        src = shared / name
        if sha256_file(src) != expected:
            raise SystemExit(f"{src}: sha256 differs from MANIFEST.tsv; refusing to copy")
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out / name)
        manifest_out.append(row)

    # derived yeast subset, with its own digest and a derived_from note
    src_row = by_file[YEAST_SOURCE].split("\t")
    if sha256_file(shared / YEAST_SOURCE) != src_row[cols.index("sha256")]:
        raise SystemExit(f"{shared / YEAST_SOURCE}: sha256 differs from MANIFEST.tsv")
    bases, records, gc = write_yeast_subset(shared / YEAST_SOURCE, out / YEAST_DERIVED)
    derived = dict(zip(cols, src_row, strict=True))
    derived.update(
        file=YEAST_DERIVED,
        accession="; ".join(YEAST_RECORDS) + " (SGD R64 TPA chromosomes I, III, VI)",
        total_bp=str(bases),
        n_contigs=str(records),
        gc=f"{gc:.4g}",
        notes=(
            f"derived_from={YEAST_SOURCE} (sha256 {src_row[cols.index('sha256')]}): records "
            f"{', '.join(YEAST_RECORDS)} copied verbatim (header and 80-column lines), gzip mtime=0; "
            "subset of the nuclear genome so that the embedded corpus stays small"
        ),
        gz_bytes=str((out / YEAST_DERIVED).stat().st_size),
        sha256=sha256_file(out / YEAST_DERIVED),
    )
    manifest_out.append("\t".join(derived[c] for c in cols))
    registry_manifest, registry_taxonomy = copy_registry(registry, out)
    manifest_out += registry_manifest

    tax_header, tax_rows = read_table(shared / "TAXONOMY.tsv")
    tax_by_file = {row.split("\t")[0]: row for row in tax_rows}
    tax_out = [tax_header]
    for name in [n for n in KEEP] + [YEAST_DERIVED] + list(STRAINS):
        source_name = YEAST_SOURCE if name == YEAST_DERIVED else name
        fields = tax_by_file[source_name].split("\t")
        tax_out.append("\t".join([name, *fields[1:]]))
    tax_out += registry_taxonomy

    strain_header, strain_rows = read_table(shared / "strains" / "MANIFEST.tsv")
    strain_by_file = {row.split("\t")[0]: row for row in strain_rows}
    strain_out = [strain_header]
    for name, digest in STRAINS.items():
        if sha256_file(shared / name) != digest:
            raise SystemExit(f"{shared / name}: sha256 differs from the pinned digest")
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / name, out / name)
        strain_out.append(strain_by_file[name])

    (out / "MANIFEST.tsv").write_text("\n".join(manifest_out) + "\n", encoding="utf-8")
    (out / "TAXONOMY.tsv").write_text("\n".join(tax_out) + "\n", encoding="utf-8")
    (out / "strains" / "MANIFEST.tsv").write_text("\n".join(strain_out) + "\n", encoding="utf-8")
    (out / "README.md").write_text(
        README.format(derived=YEAST_DERIVED, source=YEAST_SOURCE, registry=len(REGISTRY_KEEP)),
        encoding="utf-8",
    )


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared genomes folder")
    parser.add_argument(
        "--registry",
        type=Path,
        default=Path("/tmp/registry_corpus"),
        help="folder written by fetch_registry_genomes.py (the eukaryote genomes from registry packages)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="corpus folder to (re)write")
    parser.add_argument("--check", action="store_true", help="verify --out is exactly what would be written")
    args = parser.parse_args(argv)
    if not (args.shared / "MANIFEST.tsv").exists():
        parser.error(f"{args.shared}/MANIFEST.tsv not found")
    with tempfile.TemporaryDirectory(prefix="corpus-", dir=args.out.parent) as tmp:
        staged = Path(tmp) / "corpus"
        curate(args.shared, staged, args.registry)
        if args.check:
            same = args.out.exists() and tree_digest(staged) == tree_digest(args.out)
            print("corpus is up to date" if same else f"{args.out} differs from a fresh curation")
            return 0 if same else 1
        if args.out.exists():
            shutil.rmtree(args.out)
        staged.rename(args.out)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"wrote {args.out} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
