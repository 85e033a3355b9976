"""Inputs that used to build silently wrong data: an annotation of another genome, undecodable header
bytes, a genome of nothing but N. Fixtures are real records cut from the embedded corpus."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from genobench_hf.cli import main
from genobench_hf.data.build import build_all
from genobench_hf.data.taxonomy import embedded_corpus_dir
from genobench_hf.errors import InputError

CORPUS = embedded_corpus_dir()
#: small real viruses of three genera (enough for train/validation/test)
VIRUSES = ("Escherichia_phage_phiX174", "Hepatitis_A_virus", "Rubella_virus_2B", "SARS-CoV-2_Wuhan-Hu-1")


def _taxonomy_rows() -> dict[str, str]:
    lines = (CORPUS / "TAXONOMY.tsv").read_text().splitlines()
    return {line.split("\t")[0]: line for line in lines}


def virus_folder(root: Path, names=VIRUSES, *, annotations: bool = False) -> Path:
    """Real VIR genomes of the corpus (FASTA, optionally their GFF3/GenBank) with their TAXONOMY rows."""
    rows = _taxonomy_rows()
    table = [rows["file"]]
    (root / "VIR").mkdir(parents=True)
    for name in names:
        shutil.copy(CORPUS / "VIR" / f"{name}.fna.gz", root / "VIR")
        table.append(rows[f"VIR/{name}.fna.gz"])
        for suffix in (".gff3.gz", ".gbk.gz") if annotations else ():
            if (CORPUS / "VIR" / f"{name}{suffix}").exists():
                shutil.copy(CORPUS / "VIR" / f"{name}{suffix}", root / "VIR")
    (root / "TAXONOMY.tsv").write_text("\n".join(table) + "\n")
    return root


def _build(src: Path, out: Path, capsys) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["datasets", "build", "--source", str(src), "--out", str(out), "--names", "VIR", "--quiet",
                 "--reads-per-genome", "5", "--no-conservation"])  # fmt: skip
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _hiv_gff3_on_sars(src: Path, *, keep_region: bool) -> Path:
    """HIV-1's real GFF3 under SARS-CoV-2's name, so it binds to the one-record SARS-CoV-2 FASTA."""
    text = gzip.decompress((CORPUS / "VIR" / "HIV-1_HXB2.gff3.gz").read_bytes()).decode()
    if not keep_region:
        text = "".join(line for line in text.splitlines(True) if not line.startswith("##sequence-region"))
    target = src / "VIR" / "SARS-CoV-2_Wuhan-Hu-1.gff3"
    target.write_text(text)
    return target


def test_the_real_annotations_bind(tmp_path: Path, capsys) -> None:
    src = virus_folder(tmp_path / "src", annotations=True)
    code, text = _build(src, tmp_path / "out", capsys)
    assert code == 0, text


def test_annotation_of_another_genome_is_refused_by_its_length(tmp_path: Path, capsys) -> None:
    src = virus_folder(tmp_path / "src")
    gff = _hiv_gff3_on_sars(src, keep_region=True)
    code, text = _build(src, tmp_path / "out", capsys)
    assert code == 2
    assert str(gff) in text and "9,181 nt" in text and "29,903 nt" in text and "another sequence" in text
    assert not (tmp_path / "out" / "VIR").exists()


def test_annotation_whose_cds_mostly_fail_translation_is_refused(tmp_path: Path, capsys) -> None:
    src = virus_folder(tmp_path / "src")
    gff = _hiv_gff3_on_sars(src, keep_region=False)  # no length claim: only the CDS can tell
    code, text = _build(src, tmp_path / "out", capsys)
    assert code == 2
    assert str(gff) in text and "11 of 18 CDS do not translate" in text


def _rewrite_header(path: Path, header: bytes) -> Path:
    """The FASTA ``path`` (gz) as plain text with its first header line replaced by ``header``."""
    data = gzip.decompress(path.read_bytes())
    body = data.split(b"\n", 1)[1]
    plain = path.with_suffix("")  # .fna
    plain.write_bytes(header + b"\n" + body)
    path.unlink()
    return plain


def test_undecodable_bytes_in_a_record_id_are_refused(tmp_path: Path, capsys) -> None:
    src = virus_folder(tmp_path / "src")
    fasta = _rewrite_header(src / "VIR" / "Rubella_virus_2B.fna.gz", b">NC_076948\xe9.1 Rubella virus")
    table = src / "TAXONOMY.tsv"
    table.write_text(table.read_text().replace("Rubella_virus_2B.fna.gz", "Rubella_virus_2B.fna"))
    code, text = _build(src, tmp_path / "out", capsys)
    assert code == 2
    assert f"{fasta}, line 1" in text and "not UTF-8" in text


def test_undecodable_bytes_in_a_description_are_a_warning(tmp_path: Path) -> None:
    src = virus_folder(tmp_path / "src")
    fasta = _rewrite_header(
        src / "VIR" / "Rubella_virus_2B.fna.gz", b">NC_076948.1 Rubella virus S\xe3o Paulo"
    )
    table = src / "TAXONOMY.tsv"
    table.write_text(table.read_text().replace("Rubella_virus_2B.fna.gz", "Rubella_virus_2B.fna"))
    summary = build_all(tmp_path / "out", source=src, names=("VIR",), reads_per_genome=5, progress=False)
    assert any(f"{fasta}, line 1" in w and "not UTF-8" in w for w in summary.warnings)


def test_undecodable_bytes_in_a_gff3_seqid_are_refused(tmp_path: Path) -> None:
    src = virus_folder(tmp_path / "src", annotations=True)
    gff = src / "VIR" / "Rubella_virus_2B.gff3.gz"
    text = gzip.decompress(gff.read_bytes()).replace(b"\nNC_076948.1\t", b"\nNC_076948\xe9.1\t", 1)
    gff.write_bytes(gzip.compress(text))
    with pytest.raises(InputError, match="not UTF-8") as err:
        build_all(tmp_path / "out", source=src, names=("VIR",), reads_per_genome=5, progress=False)
    assert str(gff) in str(err.value) and "line " in str(err.value)


def test_a_genome_of_only_n_is_left_out_with_a_warning(tmp_path: Path) -> None:
    src = virus_folder(tmp_path / "src")
    with gzip.open(src / "VIR" / "Nothing_virus.fna.gz", "wt") as fh:
        fh.write(">empty1 all N\n" + "N" * 30_000 + "\n")
    with (src / "TAXONOMY.tsv").open("a") as fh:
        fh.write("VIR/Nothing_virus.fna.gz\tViruses\tPhy\tC\tO\tF\tNullavirus\tNulla virus\t-\t1\n")
    summary = build_all(tmp_path / "out", source=src, names=("VIR",), reads_per_genome=5, progress=False)
    assert any("Nothing_virus.fna.gz" in w and "left out" in w for w in summary.warnings)
    assert "Nothing_virus" not in summary.report.assignment
    (vir,) = summary.datasets
    assert vir.genomes == len(VIRUSES)
    total = sum(bases for _, bases in summary.report.table["VIR"].values())
    assert total == vir.bases == 5_386 + 7_478 + 9_761 + 29_903  # the 30,000 N count toward no split
