"""Corpus discovery, the taxonomy/manifest policy and the reproducible embedded corpus."""

from __future__ import annotations

import gzip
import importlib.util
import shutil

import pytest
from test_build import crafted_folder, write_fasta

from genobench_hf.data.rows import load_genome
from genobench_hf.data.taxonomy import embedded_corpus_dir, load_corpus, load_strains, split_suffix
from genobench_hf.errors import InputError


def test_embedded_corpus_entries():
    entries = load_corpus(embedded_corpus_dir())
    by_id = {e.genome_id: e for e in entries}
    assert len(entries) == 43 and {e.kingdom for e in entries} == {"PRO", "EUK", "VIR"}
    ecoli = by_id["Escherichia_coli_K-12_MG1655"]
    assert ecoli.genus == "Escherichia" and ecoli.taxid == "511145" and len(ecoli.sha256) == 64
    assert by_id["Mycoplasmoides_alvi_ATCC29626"].genetic_code == 4
    assert by_id["Chlamydia_trachomatis_D-UW-3-CX"].annotation.name.endswith(".gbk.gz")
    assert by_id["HIV-1_HXB2"].annotation.name.endswith(".gff3.gz")
    assert "derived_from" not in by_id["Saccharomyces_cerevisiae_S288C_chrI_III_VI"].source
    strains = load_strains(embedded_corpus_dir())
    assert len(strains) == 8 and not {s.genome_id for s in strains} & set(by_id)
    assert {s.species for s in strains} == {"Helicobacter pylori", "Staphylococcus aureus"}


def test_embedded_corpus_is_reproducible(shared_genomes, repo_root, tmp_path):
    spec = importlib.util.spec_from_file_location(
        "curate", repo_root / "datasets_scripts" / "curate_corpus.py"
    )
    curate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(curate)
    curate.curate(shared_genomes, tmp_path / "corpus")
    assert curate.tree_digest(tmp_path / "corpus") == curate.tree_digest(embedded_corpus_dir())
    size = sum(p.stat().st_size for p in embedded_corpus_dir().rglob("*") if p.is_file())
    assert size < 20e6


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
