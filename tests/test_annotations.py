"""GenBank/GFF3 readers, record matching and the CDS translation check (real corpus + tmp_path files)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest
from conftest import FIXTURE_GENOMES

from genobench_hf.data.annotations import (
    CDS,
    AnnotationFile,
    cds_sequence,
    check_translation,
    match_records,
    phased_segments,
    read_annotations,
    read_genbank_sequences,
    segment_phases,
    transcribed_segments,
    validate_bounds,
)
from genobench_hf.data.fasta import read_fasta
from genobench_hf.data.genbank import _parse_location
from genobench_hf.data.taxonomy import embedded_corpus_dir
from genobench_hf.errors import InputError

# ---------------------------------------------------------------------------------------- locations


@pytest.mark.parametrize(
    ("location", "pieces"),
    [
        ("10..20", [(9, 20, "+")]),
        ("<1..>9", [(0, 9, "+")]),
        ("7", [(6, 7, "+")]),
        ("complement(10..20)", [(9, 20, "-")]),
        ("join(1..3,7..9)", [(0, 3, "+"), (6, 9, "+")]),
        ("order(1..3,7..9)", [(0, 3, "+"), (6, 9, "+")]),
        ("complement(join(1..3,7..9))", [(6, 9, "-"), (0, 3, "-")]),
        ("join(complement(7..9),complement(1..3))", [(6, 9, "-"), (0, 3, "-")]),
        ("join(3981..5386,\n1..136)", [(3980, 5386, "+"), (0, 136, "+")]),
    ],
)
def test_parse_location(location: str, pieces: list[tuple[int, int, str]]) -> None:
    assert _parse_location(location.replace("\n", "")) == pieces


def _cds(segments: tuple[tuple[int, int], ...], strand: str = "+", **kw: object) -> CDS:
    fields: dict[str, object] = dict(
        seqid="r", gene_id="g", strand=strand, segments=segments, codon_start=1, transl_table=None,
        translation=None, partial=False, pseudo=False,
    )  # fmt: skip
    fields.update(kw)
    return CDS(**fields)  # type: ignore[arg-type]


def test_spliced_minus_strand_sequence_and_phases() -> None:
    contig = "AAACATTTTTGCCAT"  # '-' CDS: revcomp(GCCAT) + revcomp(CAT) = ATGGC + ATG
    cds = _cds(((3, 6), (10, 15)), strand="-")
    assert transcribed_segments(cds) == [(10, 15), (3, 6)]
    assert cds_sequence(cds, contig) == "ATGGCATG"
    assert segment_phases(cds) == [0, 1]
    assert phased_segments(cds) == [(3, 6, 1), (10, 15, 0)]
    assert segment_phases(_cds(((0, 4), (10, 20)), codon_start=2)) == [1, 0]


def test_check_translation_rules() -> None:
    contig = "GTGAAATGGTAA"  # GTG AAA TGG TAA
    assert check_translation(_cds(((0, 12),), translation="MKW"), contig, 11)  # GTG start -> M
    assert not check_translation(_cds(((0, 12),), translation="MKW"), contig, 6)  # GTG no start in 6
    assert check_translation(_cds(((0, 12),), translation="VKW"), contig, 1)
    assert not check_translation(_cds(((0, 12),), translation="VKR"), contig, 11)
    assert check_translation(_cds(((0, 12),)), contig, 11)  # no /translation: stop only at the end
    assert not check_translation(_cds(((0, 12),)), "ATGTAAAAATAA", 11)
    assert check_translation(_cds(((0, 12),), transl_table=4), "ATGTGAAAATAA", 11)  # own table wins


# ---------------------------------------------------------------------------------------- GenBank
_GENBANK = """LOCUS       TESTLOC       30 bp    DNA     linear   BCT 01-JAN-2000
DEFINITION  A test record.
ACCESSION   XX000001
VERSION     XX000001.2
FEATURES             Location/Qualifiers
     source          1..30
     CDS             join(1..6,
                     10..15)
                     /locus_tag="T_1"
                     /note="a long note with a /slash and a
                     second line"
                     /translation="MK
                     MK"
     CDS             complement(<20..>{end})
                     /gene="g2"
                     /codon_start=2
                     /transl_table=4
     CDS             OTHER01.1:1..9
                     /gene="remote"
     CDS             5^6
                     /gene="between"
ORIGIN
        1 atgaaaccca tgaaataaac gtacgtacgt
//
"""


def _genbank(tmp_path: Path, end: int = 28, name: str = "t.gbk.gz") -> Path:
    path = tmp_path / name
    path.write_bytes(gzip.compress(_GENBANK.replace("{end}", str(end)).encode(), mtime=0))
    return path


def test_read_genbank(tmp_path: Path) -> None:
    ann = read_annotations(_genbank(tmp_path))
    assert list(ann.records) == ["XX000001.2"] and ann.record_lengths == {"XX000001.2": 30}
    assert ann.aliases["XX000001.2"] >= {"TESTLOC", "XX000001"}
    first, second = ann.records["XX000001.2"]
    assert (first.gene_id, first.segments, first.translation, first.partial) == (
        "T_1",
        ((0, 6), (9, 15)),
        "MKMK",
        False,
    )
    assert (second.strand, second.codon_start, second.transl_table, second.partial) == ("-", 2, 4, True)
    assert ann.skipped == {"remote reference": 1, "between-base site (n^m)": 1}
    (seq,) = read_genbank_sequences(ann.path)
    assert (seq.id, seq.description, len(seq.sequence)) == ("XX000001.2", "A test record", 30)
    assert check_translation(first, seq.sequence, 11)


def test_genbank_feature_outside_sequence(tmp_path: Path) -> None:
    ann = read_annotations(_genbank(tmp_path, end=35))
    with pytest.raises(InputError) as info:
        for cds in ann.records["XX000001.2"]:
            validate_bounds(cds, 30, ann.path)
    message = str(info.value)
    assert str(ann.path) in message and "XX000001.2" in message and "g2" in message


def test_genbank_bad_location_and_truncation(tmp_path: Path) -> None:
    path = tmp_path / "bad.gbk"
    path.write_text(_GENBANK.replace("join(1..6,", "join(1..6,,").replace("{end}", "28"))
    with pytest.raises(InputError, match=r"line 7.*XX000001\.2"):
        read_annotations(path)
    path.write_text(_GENBANK.replace("{end}", "28").replace("//\n", ""))
    with pytest.raises(InputError, match="truncated"):
        read_annotations(path)


@pytest.mark.parametrize("block", [1, 3, 17, 80])
def test_genbank_reading_does_not_depend_on_block_size(tmp_path: Path, monkeypatch, block: int) -> None:
    """The block reader (bulk ORIGIN and feature bodies) gives what whole-text reading gives, with the
    same line numbers in errors, wherever the blocks are cut."""
    import genobench_hf.data.fasta as fasta_module

    two = _GENBANK.replace("{end}", "28") * 2
    two = two.replace("VERSION     XX000001.2", "VERSION     XX000002.1", 1)
    path = tmp_path / "two.gbk"
    path.write_text(two.replace("ORIGIN\n", "ORIGIN\n\n", 1))  # a blank line inside ORIGIN too
    whole = read_annotations(path)
    whole_seqs = [(r.id, r.description, r.sequence) for r in read_genbank_sequences(path)]
    monkeypatch.setattr(fasta_module, "BLOCK_CHARS", block)
    cut = read_annotations(path)
    assert cut.records == whole.records and cut.skipped == whole.skipped and cut.aliases == whole.aliases
    assert [(r.id, r.description, r.sequence) for r in read_genbank_sequences(path)] == whole_seqs
    assert [s for _, _, s in whole_seqs] == ["atgaaacccatgaaataaacgtacgtacgt"] * 2
    path.write_text(two.replace("join(1..6,", "join(1..6,,"))
    with pytest.raises(InputError, match=r"line 7.*XX000002\.1"):
        read_annotations(path)
    path.write_text(two.replace("        1 atg", "        1 a*g", 1))
    with pytest.raises(InputError, match=r"'\*'"):
        list(read_genbank_sequences(path))


# ---------------------------------------------------------------------------------------- GFF3
_GFF = """##gff-version 3
##sequence-region chrA 1 40
chrA\tsrc\tgene\t1\t40\t.\t+\t.\tID=gene1
chrA\tsrc\tCDS\t1\t6\t.\t+\t0\tID=cds1;Parent=mrna1;locus_tag=LT%3B1
chrA\tsrc\tCDS\t10\t{end}\t.\t+\t0\tID=cds1;Parent=mrna1;locus_tag=LT%3B1
chrA\tsrc\tCDS\t20\t25\t.\t-\t.\tParent=mrna2;gene=two;partial=true
chrA\tsrc\tCDS\t30\t35\t.\t-\t0\tName=lonely
##FASTA
>chrA
ACGT
"""


def _gff(tmp_path: Path, end: int = 15) -> Path:
    path = tmp_path / "t.gff3"
    path.write_text(_GFF.replace("{end}", str(end)))
    return path


def test_read_gff3(tmp_path: Path) -> None:
    ann = read_annotations(_gff(tmp_path))
    assert ann.record_lengths == {"chrA": 40}
    spliced, by_parent, lonely = ann.records["chrA"]
    assert (spliced.gene_id, spliced.segments, spliced.codon_start) == ("LT;1", ((0, 6), (9, 15)), 1)
    assert (by_parent.gene_id, by_parent.strand, by_parent.partial) == ("two", "-", True)
    assert lonely.gene_id == "lonely"


def test_gff3_feature_outside_sequence(tmp_path: Path) -> None:
    ann = read_annotations(_gff(tmp_path, end=45))
    with pytest.raises(InputError) as info:
        for cds in ann.records["chrA"]:
            validate_bounds(cds, 40, ann.path)
    assert str(ann.path) in str(info.value) and "'chrA'" in str(info.value) and "LT;1" in str(info.value)


def test_gff3_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.gff3"
    path.write_text("##gff-version 3\nchrA\tsrc\tCDS\t5\tten\t.\t+\t0\tID=x\n")
    with pytest.raises(InputError, match=r"line 2.*chrA"):
        read_annotations(path)


def test_gff3_seqid_matches_no_fasta(tmp_path: Path) -> None:
    ann = read_annotations(_gff(tmp_path))
    with pytest.raises(InputError) as info:
        match_records(ann, ["chrB", "chrC"], [40, 40])
    assert str(ann.path) in str(info.value) and "'chrA'" in str(info.value) and "no FASTA" in str(info.value)


def test_match_records_rules() -> None:
    def ann(*seqids: str) -> AnnotationFile:
        recs = {s: [_cds(((0, 3),), seqid=s)] for s in seqids}
        return AnnotationFile(path=Path("a.gff3"), records=recs, record_lengths=dict.fromkeys(seqids))

    assert match_records(ann("NC_003070.9"), ["Chromosome"], [10]) == {"NC_003070.9": "Chromosome"}
    two = ann("NC_001802.1", "NC_003070.9")
    assert match_records(two, ["NC_003070.9:1-2000000", "NC_001802"], [5, 5]) == {
        "NC_001802.1": "NC_001802",
        "NC_003070.9": "NC_003070.9:1-2000000",
    }
    with pytest.raises(InputError, match="several"):
        match_records(ann("X1", "Y1"), ["X1.1", "X1.2", "Y1"], [1, 2, 3])


# ---------------------------------------------------------------------------------------- real corpus
# file -> (CDS checked, CDS passing, skipped): the MANIFEST notes' self-check, for every annotation file of
# the embedded corpus and of tests/fixtures/genomes (whole records of two draft WGS genomes that are not
# embedded; their notes were computed with Biopython, see that folder's README)
EXPECTED = {
    "PRO/Chlamydia_trachomatis_D-UW-3-CX.gbk.gz": (895, 893, 0),
    "PRO/Streptococcus_pyogenes_M1_GAS.gbk.gz": (1853, 1853, 0),
    "PRO/Mycoplasmoides_alvi_ATCC29626.gbk.gz": (679, 676, 0),
    "PRO/Streptomyces_globisporus_C-1027_cluster.gbk.gz": (66, 66, 0),
    "EUK/Drosophila_melanogaster_BACR25B3.gbk.gz": (11, 11, 1),  # MANIFEST 11/12: one remote join
    "VIR/Escherichia_phage_T4.gbk.gz": (278, 278, 0),
    "VIR/Escherichia_phage_phiX174.gbk.gz": (11, 11, 0),
    "VIR/Escherichia_phage_VT2-Sakai.gbk.gz": (83, 83, 0),
    "VIR/Influenza_A_H1N1_California_07_2009.gbk.gz": (11, 11, 0),
    "EUK/Arabidopsis_thaliana_TAIR10_chr1_1-2Mb.gff3.gz": (1147, 1147, 0),
    "VIR/SARS-CoV-2_Wuhan-Hu-1.gff3.gz": (27, 27, 0),
    "VIR/Monkeypox_virus_clade_IIb.gff3.gz": (179, 179, 0),
    "VIR/Human_herpesvirus_3_VZV_Dumas.gff3.gz": (73, 73, 0),
    "VIR/HIV-1_HXB2.gff3.gz": (18, 17, 0),
    "VIR/Measles_virus.gff3.gz": (8, 8, 0),
    "VIR/Zaire_ebolavirus_Mayinga.gff3.gz": (9, 9, 0),
    "VIR/Hepatitis_A_virus.gff3.gz": (2, 2, 0),
    "VIR/West_Nile_virus_lineage1.gff3.gz": (1, 1, 0),
    "VIR/Human_metapneumovirus_00-1.gff3.gz": (9, 9, 0),
    "VIR/Enterovirus_D68_Fermon.gff3.gz": (11, 11, 0),
    "VIR/Rubella_virus_2B.gff3.gz": (2, 2, 0),
    "VIR/Zika_virus_Natal.gff3.gz": (14, 14, 0),
    "VIR/Marburg_virus_Musoke.gff3.gz": (7, 7, 0),
}
EXPECTED_FIXTURES = {
    # records JAOQKG010000010-13: 4 + 1 passing CDS, and the 320-bp record's one partial CDS that fails
    "PRO/Oscillibacter_acetigenes_H4_59_cut.gbk.gz": (6, 5, 0),
    "PRO/Leptospira_kirschneri_H1_cut.gbk.gz": (7, 7, 0),  # the 10 smallest WGS records
}
ANNOTATED = [
    *(pytest.param(embedded_corpus_dir(), rel, EXPECTED[rel], id=rel) for rel in sorted(EXPECTED)),
    *(
        pytest.param(FIXTURE_GENOMES, rel, EXPECTED_FIXTURES[rel], id=rel)
        for rel in sorted(EXPECTED_FIXTURES)
    ),
]


def _self_check(genomes: Path, rel: str) -> tuple[int, int, int]:
    """Parse, match, bound-check and translate every CDS the way MANIFEST's self-check counts them."""
    manifest = {r["file"]: r for r in csv.DictReader((genomes / "MANIFEST.tsv").open(), delimiter="\t")}
    taxonomy = {r["file"]: r for r in csv.DictReader((genomes / "TAXONOMY.tsv").open(), delimiter="\t")}
    fasta_rel = f"{Path(rel).parent.as_posix()}/{manifest[rel]['annotation_of']}"
    ann = read_annotations(genomes / rel)
    contigs = {r.id: r.sequence for r in read_fasta(genomes / fasta_rel)}
    binding = match_records(ann, list(contigs), [len(s) for s in contigs.values()])
    code = int(taxonomy[fasta_rel]["genetic_code"])
    checked = passed = 0
    for seqid, cds_list in ann.records.items():
        for cds in cds_list:
            contig = contigs[binding[seqid]]
            validate_bounds(cds, len(contig), ann.path)
            if rel.endswith(".gbk.gz") and cds.translation is None:
                continue  # GenBank notes count CDS with /translation
            checked += 1
            passed += check_translation(cds, contig, code)
    return checked, passed, sum(ann.skipped.values())


@pytest.mark.parametrize(("genomes", "rel", "expected"), ANNOTATED)
def test_corpus_annotations_reproduce_manifest(
    genomes: Path, rel: str, expected: tuple[int, int, int]
) -> None:
    assert _self_check(genomes, rel) == expected
    # and EXPECTED is what the notes say ("CDS check: passed/total"; total includes skipped remote joins)
    notes = {r["file"]: r["notes"] for r in csv.DictReader((genomes / "MANIFEST.tsv").open(), delimiter="\t")}
    assert f"CDS check: {expected[1]}/{expected[0] + expected[2]} " in notes[rel]


@pytest.mark.parametrize(
    ("genomes", "expected"), [(embedded_corpus_dir(), EXPECTED), (FIXTURE_GENOMES, EXPECTED_FIXTURES)]
)
def test_corpus_lists_every_annotation(genomes: Path, expected: dict[str, tuple[int, int, int]]) -> None:
    rows = csv.DictReader((genomes / "MANIFEST.tsv").open(), delimiter="\t")
    assert {r["file"] for r in rows if r["annotation_of"]} == set(expected)


def test_genbank_sequence_equals_corpus_fasta(corpus_genomes: Path) -> None:
    rel = "VIR/Influenza_A_H1N1_California_07_2009"
    from_gbk = {r.id: r.sequence.upper() for r in read_genbank_sequences(corpus_genomes / f"{rel}.gbk.gz")}
    from_fna = {r.id: r.sequence.upper() for r in read_fasta(corpus_genomes / f"{rel}.fna.gz")}
    assert from_gbk == from_fna and len(from_gbk) == 8


def test_phix174_origin_spanning_cds(corpus_genomes: Path) -> None:
    ann = read_annotations(corpus_genomes / "VIR" / "Escherichia_phage_phiX174.gbk.gz")
    wrapped = [c for c in ann.records["NC_001422.1"] if c.order is not None]
    assert len(wrapped) == 3
    assert transcribed_segments(wrapped[0]) == [(3980, 5386), (0, 136)]
