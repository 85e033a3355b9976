"""FASTA reader, sequence cleaning, IUPAC helpers and genetic codes (broken inputs built in tmp_path)."""

from __future__ import annotations

import csv
import gzip
import math
import random
import time
from pathlib import Path

import pytest
from conftest import FIXTURE_GENOMES

from genobench_hf.data.fasta import (
    clean_sequence,
    open_text,
    read_fasta,
    reverse_complement,
    to_model_alphabet,
)
from genobench_hf.data.genetic_code import TABLE_IDS, codon_table, start_codons, stop_codons, translate
from genobench_hf.errors import InputError


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    """Write ``text`` (gzip-compressed when the name ends in .gz); bytes are written as they are."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(gzip.compress(text.encode(), mtime=0) if name.endswith(".gz") else text.encode())
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_fasta(path))
    assert str(path) in str(info.value)
    return info.value


def test_reads_records_streaming_keeps_case(tmp_path: Path) -> None:
    path = _write(tmp_path, "g.fna.gz", ">chr1 first one\nACGTac\ngtNN\n\n>chr2\nRYKM\n")
    records = read_fasta(path)
    first = next(records)  # a generator: records come one at a time
    assert (first.id, first.description, first.sequence) == ("chr1", "first one", "ACGTacgtNN")
    assert [r.id for r in records] == ["chr2"]


def test_windows_line_endings_work(tmp_path: Path) -> None:
    path = _write(tmp_path, "crlf.fa", ">a desc\r\nACGT\r\nTT\r\n>b\r\nGG\r\n")
    records = list(read_fasta(path))
    assert [(r.id, r.description, r.sequence) for r in records] == [("a", "desc", "ACGTTT"), ("b", "", "GG")]


def test_no_header(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "nohead.fa", "ACGT\n>a\nACGT\n"))
    assert err.line == 1 and "before the first" in str(err)


def test_empty_record(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "empty_rec.fa", ">a\nACGT\n>b\n>c\nAC\n"))
    assert err.record == "b" and "'b'" in str(err) and "no sequence" in str(err)


def test_empty_record_at_end(tmp_path: Path) -> None:
    assert _error(_write(tmp_path, "end.fa", ">a\nACGT\n>last\n")).record == "last"


def test_empty_header_id(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "noid.fa", ">a\nAC\n> orphan description\nAC\n"))
    assert err.line == 3 and "empty record id" in str(err)


def test_duplicate_ids(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "dup.fa", ">a\nAC\n>b\nGG\n>a x\nTT\n"))
    assert (err.record, err.line) == ("a", 5) and "duplicate" in str(err)


@pytest.mark.parametrize(("char", "hint"), [("-", "gaps"), (".", "gaps"), ("*", "protein"), ("E", "protein")])
def test_non_iupac_characters(tmp_path: Path, char: str, hint: str) -> None:
    err = _error(_write(tmp_path, "bad.fa", f">ok\nACGT\n>seq1\nACGT\nAC{char}T\n"))
    assert (err.record, err.line) == ("seq1", 5)
    assert "column 3" in str(err) and hint in str(err) and "'seq1'" in str(err)


def test_non_ascii_character(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "utf.fa", ">s\nACGÅT\n".encode()))
    assert err.record == "s" and err.line == 2


def test_empty_file_and_blank_file(tmp_path: Path) -> None:
    assert "no FASTA records" in str(_error(_write(tmp_path, "empty.fa", "")))
    assert "no FASTA records" in str(_error(_write(tmp_path, "blank.fa.gz", "\n\n")))


def test_truncated_gzip(tmp_path: Path) -> None:
    payload = gzip.compress(b">a\n" + b"ACGT" * 5000 + b"\n", mtime=0)
    path = _write(tmp_path, "trunc.fa.gz", payload[: len(payload) // 2])
    err = _error(path)
    assert "truncated or corrupt" in str(err)
    with open_text(path) as fh, pytest.raises(InputError, match=r"trunc\.fa\.gz"):
        fh.read()


def test_corrupt_gzip(tmp_path: Path) -> None:
    payload = bytearray(gzip.compress(b">a\n" + b"ACGT" * 100 + b"\n", mtime=0))
    payload[-6] ^= 0xFF  # break the CRC
    assert "truncated or corrupt" in str(_error(_write(tmp_path, "crc.fa.gz", bytes(payload))))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open"):
        list(read_fasta(tmp_path / "absent.fa"))


def test_clean_sequence_intervals_and_gc() -> None:
    c = clean_sequence("acGTNNrYuU")
    assert c.sequence == "ACGTNNRYTT"
    assert c.softmask == [(0, 2), (6, 7), (8, 9)]
    assert c.non_acgt == [(4, 8)]
    assert c.n_non_acgt == 4
    assert c.gc == pytest.approx(2 / 6)


def test_clean_sequence_edge_cases() -> None:
    assert math.isnan(clean_sequence("NNNN").gc)
    assert clean_sequence("NNNN").non_acgt == [(0, 4)]
    empty = clean_sequence("")
    assert (empty.sequence, empty.softmask, empty.non_acgt, empty.n_non_acgt) == ("", [], [], 0)
    with pytest.raises(ValueError, match="IUPAC"):
        clean_sequence("AC-GT")


def test_model_alphabet_and_reverse_complement() -> None:
    assert to_model_alphabet("ACGTNRYKMBDHVSW") == "ACGTNNNNNNNNNNN"
    assert reverse_complement("ACGTRYKMBDHVSWN") == "NWSBDHVKMRYACGT"
    assert reverse_complement("aCgU") == "AcGt"
    seq = "ACGTRYKMBDHVSWNacgt"
    assert reverse_complement(reverse_complement(seq)) == seq


def test_ecoli_speed(corpus_genomes: Path) -> None:
    """read_fasta + clean_sequence on E. coli K-12 (4.6 Mb, gzip) well under a second."""
    start = time.perf_counter()
    records = list(read_fasta(corpus_genomes / "PRO" / "Escherichia_coli_K-12_MG1655.fna.gz"))
    cleaned = clean_sequence(records[0].sequence)
    elapsed = time.perf_counter() - start
    assert len(cleaned.sequence) == 4_639_675 and cleaned.n_non_acgt == 0
    assert round(cleaned.gc, 4) == 0.5079  # MANIFEST
    assert elapsed < 1.5, f"took {elapsed:.2f} s"  # ~0.2-0.3 s idle; headroom for a loaded CI machine


def _manifest_fastas() -> list[pytest.param]:
    """(folder, MANIFEST row) of every genome FASTA of the embedded corpus and of tests/fixtures/genomes."""
    from genobench_hf.data.taxonomy import embedded_corpus_dir

    out = []
    for root in (embedded_corpus_dir(), FIXTURE_GENOMES):
        rows = csv.DictReader((root / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")
        out += [pytest.param(root, row, id=row["file"]) for row in rows if not row["annotation_of"]]
    return out


@pytest.mark.parametrize(("root", "row"), _manifest_fastas())
def test_fasta_counts_match_manifest(root: Path, row: dict[str, str]) -> None:
    """Lengths, record count, N / other-IUPAC counts, GC and soft-masked fraction as MANIFEST.tsv states
    them (computed independently of genobench): the multi-record drafts with N runs (Mycoplasmoides,
    Oscillibacter, Homo TPA), IUPAC codes (T4, Influenza, Streptomyces, the two-chromosome Vibrio cut) and
    soft-masking (Arabidopsis)."""
    cleaned = [clean_sequence(r.sequence) for r in read_fasta(root / row["file"])]
    total = sum(len(c.sequence) for c in cleaned)
    n_n = sum(c.sequence.count("N") for c in cleaned)
    other = sum(c.n_non_acgt for c in cleaned) - n_n
    assert (total, len(cleaned), n_n, other) == tuple(
        int(row[k]) for k in ("total_bp", "n_contigs", "n_N", "n_other_iupac")
    )
    gc = sum(c.gc * (len(c.sequence) - c.n_non_acgt) for c in cleaned) / (total - n_n - other)
    assert gc == pytest.approx(float(row["gc"]), abs=5.1e-5)
    masked = sum(end - start for c in cleaned for start, end in c.softmask)
    assert masked / total == pytest.approx(float(row["softmasked_frac"]), abs=5.1e-5)


def test_arabidopsis_softmask_fraction(corpus_genomes: Path) -> None:
    (record,) = read_fasta(corpus_genomes / "EUK" / "Arabidopsis_thaliana_TAIR10_chr1_1-2Mb.fna.gz")
    assert record.id == "NC_003070.9:1-2000000"
    cleaned = clean_sequence(record.sequence)
    masked = sum(end - start for start, end in cleaned.softmask)
    assert masked / len(cleaned.sequence) == pytest.approx(0.1784, abs=5e-5)
    assert cleaned.sequence.isupper()


# --------------------------------------------------------------------------- genetic codes
def test_all_ncbi_tables_present() -> None:
    expected = (1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16, *range(21, 34))
    assert tuple(TABLE_IDS) == expected
    with pytest.raises(ValueError, match="7"):
        codon_table(7)


@pytest.mark.parametrize(
    ("table", "codon", "aa"),
    [(1, "TGA", "*"), (4, "TGA", "W"), (11, "TGA", "*"), (15, "TAG", "Q"), (2, "AGA", "*"), (3, "CTG", "T")],
)
def test_table_differences(table: int, codon: str, aa: str) -> None:
    assert codon_table(table)[codon] == aa


def test_translate() -> None:
    assert translate("ATGGCCTGA") == "MA*"
    assert translate("ATGTGAGCC", 4) == "MWA"
    assert translate("ATGTGAGCC", to_stop=True) == "M"
    assert translate("augGGNccR") == "MGP"  # GGN is always G, CCR always P
    assert translate("AARAANTRA") == "KX*"  # AAN: K or N -> X; TRA: TAA or TGA, both stops
    assert translate("ATGNNNTA") == "MX"  # incomplete trailing codon ignored
    assert start_codons(11) >= {"ATG", "GTG", "TTG"} and "GTG" not in start_codons(1)
    assert stop_codons(4) == frozenset({"TAA", "TAG"})


# --------------------------------------------------------------------------- block reading
def _naive_records(text: str) -> list[tuple[str, str, str]]:
    """Reference parse: line by line, whitespace removed from sequence lines."""
    out, header, seq = [], None, []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(">"):
            if header is not None:
                out.append((header, "".join(seq)))
            header, seq = line[1:], []
        elif header is not None:
            seq.append("".join(line.split()))
    out.append((header, "".join(seq)))
    return [(h.split(None, 1)[0], [*h.split(None, 1), ""][1].strip(), s) for h, s in out]


@pytest.mark.parametrize("block", [1, 2, 7, 64, 1 << 22])
def test_block_reading_matches_a_line_parser_at_any_block_size(
    tmp_path: Path, monkeypatch, block: int
) -> None:
    """Records, headers and error line numbers do not depend on where the text blocks are cut."""
    import genobench_hf.data.fasta as fasta_module

    rng = random.Random(block)
    parts = []
    for i in range(30):
        seq = "".join(rng.choice("ACGTNacgtRY") for _ in range(rng.randrange(1, 300)))
        lines = [seq[j : j + 61] for j in range(0, len(seq), 61)]
        parts.append(f">r{i} desc {i}\n" + "\n".join(lines) + ("\n\n" if i % 7 == 0 else "\n"))
    text = "\n" + "".join(parts)
    path = _write(tmp_path, "many.fa.gz", text.replace("\n", "\r\n") if block == 7 else text)
    monkeypatch.setattr(fasta_module, "BLOCK_CHARS", block)
    got = [(r.id, r.description, r.sequence) for r in read_fasta(path)]
    assert got == _naive_records(text)
    bad = _write(tmp_path, "bad.fa", text + ">x\nACGT\nAC-T\n>r3 again\nAC\n")
    err = _error(bad)
    assert (err.record, err.line) == ("x", text.count("\n") + 3) and "column 3" in str(err)


def test_translate_vectorised_equals_codon_by_codon() -> None:
    from genobench_hf.data.genetic_code import _translate_slow

    rng = random.Random(5)
    alphabet = "ACGTUNRYSWKMBDHVacgtunrykm-*X. "
    for table in TABLE_IDS:
        for _ in range(50):
            seq = "".join(
                rng.choice(alphabet if rng.random() < 0.3 else "ACGT") for _ in range(rng.randrange(60))
            )
            for to_stop in (False, True):
                assert translate(seq, table, to_stop=to_stop) == _translate_slow(seq, table, to_stop=to_stop)
    assert translate("ATGÅAA") == _translate_slow("ATGÅAA", 1, to_stop=False)  # non-ASCII: slow path
