"""Corpus discovery, the taxonomy/manifest policy and the reproducible embedded corpus."""

from __future__ import annotations

import gzip
import importlib.util
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_build import crafted_folder, write_fasta

from genobench_hf.data.rows import load_genome
from genobench_hf.data.taxonomy import (
    embedded_corpus_dir,
    load_corpus,
    load_strains,
    sha256_file,
    split_suffix,
)
from genobench_hf.errors import InputError


def test_embedded_corpus_entries():
    entries = load_corpus(embedded_corpus_dir())
    by_id = {e.genome_id: e for e in entries}
    manifest = (embedded_corpus_dir() / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    genomes = [row for row in manifest if "\tgenome FASTA\t" in row]
    assert len(entries) == len(genomes) and {e.kingdom for e in entries} == {"PRO", "EUK", "VIR"}
    ecoli = by_id["Escherichia_coli_K-12_MG1655"]
    assert ecoli.genus == "Escherichia" and ecoli.taxid == "511145" and len(ecoli.sha256) == 64
    assert by_id["Mycoplasmoides_alvi_ATCC29626"].genetic_code == 4
    assert by_id["Chlamydia_trachomatis_D-UW-3-CX"].annotation.name.endswith(".gbk.gz")
    assert by_id["HIV-1_HXB2"].annotation.name.endswith(".gff3.gz")
    assert "derived_from" not in by_id["Saccharomyces_cerevisiae_S288C_chrI_III_VI"].source
    strains = load_strains(embedded_corpus_dir())
    assert len(strains) == 8 and not {s.genome_id for s in strains} & set(by_id)
    assert {s.species for s in strains} == {"Helicobacter pylori", "Staphylococcus aureus"}


def _curate_module(repo_root: Path) -> Any:
    spec = importlib.util.spec_from_file_location(
        "curate", repo_root / "datasets_scripts" / "curate_corpus.py"
    )
    curate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(curate)
    return curate


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _source_like_shared(curate: Any, corpus: Path, src: Path) -> str:
    """Lay out ``src`` like the full shared corpus that curate_corpus.py reads, from the embedded corpus
    (whose files are byte copies of it) plus what curation must drop: rows of a genome that is not kept
    (and of its annotation and a strain), and a yeast chromosome that is not selected. The one file that
    cannot be rebuilt is the 3.6 MB yeast source; it is written here as chromosomes I, III, VI (verbatim
    from the derived file) with chromosome II's header between them. Returns that stand-in's sha256."""
    header, *rows = _lines(corpus / "MANIFEST.tsv")
    cols = header.split("\t")
    rows = [r for r in rows if r.split("\t")[0] not in curate.REGISTRY_KEEP]  # those come from --registry
    for rel in [r.split("\t")[0] for r in rows] + list(curate.STRAINS):
        if rel != curate.YEAST_DERIVED:
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).symlink_to(corpus / rel)
    with gzip.open(corpus / curate.YEAST_DERIVED, "rt") as fh:
        yeast = fh.read().split(">")[1:]
    unselected = ">gi|329138864|tpg|BK006936.2| TPA_inf: chromosome II (not selected)\n" + "ACGT" * 20 + "\n"
    (src / curate.YEAST_SOURCE).write_bytes(
        gzip.compress((">" + yeast[0] + unselected + ">" + ">".join(yeast[1:])).encode())
    )
    stand_in = sha256_file(src / curate.YEAST_SOURCE)

    def swap(row: str) -> str:  # the derived row stands for the source row: only file and sha256 matter
        fields = dict(zip(cols, row.split("\t"), strict=True))
        if fields["file"] != curate.YEAST_DERIVED:
            return row
        return "\t".join((fields | {"file": curate.YEAST_SOURCE, "sha256": stand_in})[c] for c in cols)

    ecoli = next(r for r in rows if r.startswith("PRO/Escherichia_coli_K-12_MG1655.fna.gz\t")).split("\t")
    dropped = ["PRO/Not_kept.fna.gz", *ecoli[1:]], ["PRO/Not_kept.gbk.gz", *ecoli[1:]]
    dropped[1][cols.index("annotation_of")] = "Not_kept.fna.gz"
    manifest = [header, *map(swap, rows), *("\t".join(d) for d in dropped)]
    (src / "MANIFEST.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    tax_header, *tax = _lines(corpus / "TAXONOMY.tsv")
    tax = [t.replace(curate.YEAST_DERIVED, curate.YEAST_SOURCE) for t in tax]
    tax = [t for t in tax if t.split("\t")[0] not in curate.REGISTRY_KEEP]
    tax.append("PRO/Not_kept.fna.gz\t" + tax[0].split("\t", 1)[1])
    (src / "TAXONOMY.tsv").write_text("\n".join([tax_header, *tax]) + "\n", encoding="utf-8")
    strains = _lines(corpus / "strains" / "MANIFEST.tsv")
    strains.append("strains/Not_kept_strain.fna.gz\t" + strains[1].split("\t", 1)[1])
    (src / "strains" / "MANIFEST.tsv").write_text("\n".join(strains) + "\n", encoding="utf-8")
    return stand_in


def _registry_like_fetched(curate: Any, corpus: Path, registry: Path) -> None:
    """Lay out ``registry`` like fetch_registry_genomes.py's output folder: the ``REGISTRY_KEEP`` files
    (links to the embedded copies) and their MANIFEST/TAXONOMY rows."""
    for table in ("MANIFEST.tsv", "TAXONOMY.tsv"):
        header, *rows = _lines(corpus / table)
        kept = [r for r in rows if r.split("\t")[0] in curate.REGISTRY_KEEP]
        (registry / table).parent.mkdir(parents=True, exist_ok=True)
        (registry / table).write_text("\n".join([header, *kept]) + "\n", encoding="utf-8")
    for rel in curate.REGISTRY_KEEP:
        (registry / rel).parent.mkdir(parents=True, exist_ok=True)
        (registry / rel).symlink_to(corpus / rel)


def test_curation_without_the_registry_folder_says_how_to_fetch_it(repo_root, tmp_path):
    curate = _curate_module(repo_root)
    with pytest.raises(SystemExit, match=r"fetch_registry_genomes\.py --out"):
        curate.copy_registry(tmp_path / "absent", tmp_path / "corpus")


def test_embedded_corpus_is_reproducible(repo_root, tmp_path):
    """curate_corpus.py rebuilds the embedded corpus byte for byte (same selection, rows, derived yeast
    file, digests) from a source laid out like the shared folder. In a fresh clone that source is rebuilt
    from the corpus itself; the yeast source's digest, quoted in the derived row, is the one difference."""
    curate, corpus = _curate_module(repo_root), embedded_corpus_dir()
    stand_in = _source_like_shared(curate, corpus, tmp_path / "shared")
    _registry_like_fetched(curate, corpus, tmp_path / "registry")
    curate.curate(tmp_path / "shared", tmp_path / "corpus", tmp_path / "registry")
    manifest = tmp_path / "corpus" / "MANIFEST.tsv"
    (real,) = re.findall(r"derived_from=\S+ \(sha256 ([0-9a-f]{64})\)", (corpus / "MANIFEST.tsv").read_text())
    assert manifest.read_text().count(stand_in) == 1
    manifest.write_text(manifest.read_text().replace(stand_in, real))
    assert curate.tree_digest(tmp_path / "corpus") == curate.tree_digest(corpus)
    size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    assert size < curate.MAX_BYTES


def test_sha256_mismatch_is_an_error(tmp_path):
    folder = tmp_path / "corpus"
    shutil.copytree(embedded_corpus_dir(), folder)
    target = folder / "VIR" / "HIV-1_HXB2.fna.gz"
    target.write_bytes(gzip.compress(b">x\nACGT\n", mtime=0))
    with pytest.raises(InputError, match="sha256"):
        load_corpus(folder)


def test_user_folder_without_manifest_and_genbank_only(tmp_path):
    src = crafted_folder(tmp_path / "src")
    gbk = (
        "LOCUS       GB1                      120 bp    DNA     linear   BCT 01-JAN-2000\n"
        "ACCESSION   GB1\nVERSION     GB1.1\nFEATURES             Location/Qualifiers\n"
        '     CDS             1..9\n                     /locus_tag="t1"\nORIGIN\n'
        + "".join(f"{i * 60 + 1:>9} " + " ".join(["acgtacgtac"] * 6) + "\n" for i in range(2))
        + "//\n"
    )
    with gzip.open(src / "PRO" / "gbonly.gbk.gz", "wt") as fh:
        fh.write(gbk)
    tax = (src / "TAXONOMY.tsv").read_text()
    (src / "TAXONOMY.tsv").write_text(
        tax + "PRO/gbonly.gbk.gz\tBacteria\tP\tC\tO\tF\tGbgenus\tGb sp\t-\t11\n"
    )
    entries = {e.genome_id: e for e in load_corpus(src)}
    gb = entries["gbonly"]
    assert gb.is_genbank and gb.annotation == gb.path and gb.accession == "-" and gb.organism == "Gb sp"
    genome = load_genome(gb)
    assert genome.ids == ["GB1.1"] or genome.ids == ["GB1"]
    assert genome.records[0].sequence.startswith("ACGTACGT") and len(genome.records[0].softmask) == 1
    assert genome.stats.cds == 1


def test_orphan_taxonomy_row_warns_and_bad_code_errors(tmp_path):
    src = crafted_folder(tmp_path / "src")
    tax = src / "TAXONOMY.tsv"
    tax.write_text(tax.read_text() + "PRO/gone.fna.gz\tBacteria\tP\tC\tO\tF\tG\tG s\t-\t11\n")
    with pytest.warns(UserWarning, match="gone.fna.gz"):
        load_corpus(src)
    tax.write_text(
        tax.read_text().replace(
            "gone.fna.gz\tBacteria\tP\tC\tO\tF\tG\tG s\t-\t11", "gone.fna.gz\tB\tP\tC\tO\tF\tG\tG s\t-\t7"
        )
    )
    with pytest.raises(InputError, match="genetic_code"):
        load_corpus(src)


def test_fasta_suffixes_and_duplicate_ids(tmp_path):
    assert split_suffix("X.fna.gz") == ("X", ".fna") and split_suffix("a.b.FASTA") == ("a.b", ".fasta")
    src = crafted_folder(tmp_path / "src")
    write_fasta(src / "VIR" / "sub" / "vir_g0.fa.gz", {"q": "ACGT" * 50})
    with pytest.raises(InputError):  # genome_id vir_g0 twice / no taxonomy row
        load_corpus(src)
