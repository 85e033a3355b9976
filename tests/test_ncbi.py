"""NCBI selection and download, against fixture summaries and a local HTTP server (never the internet).

The server serves real sequence bytes (the embedded corpus, and a cut in tests/fixtures/genomes for the one
genome the corpus lacks), re-gzipped, under the real assemblies' paths; md5checksums.txt is computed here.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import io
import shutil
import tarfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import FIXTURE_GENOMES

from genobench_hf.data import download, ncbi
from genobench_hf.data.taxonomy import embedded_corpus_dir
from genobench_hf.errors import ConfigError, InputError

FIXTURES = Path(__file__).parent / "fixtures" / "ncbi"
SUMMARIES = {"PRO": ["bacteria", "archaea"], "EUK": ["fungi"], "VIR": ["viral"]}
CORPUS = embedded_corpus_dir()
# assembly -> (FASTA, GFF3 or None): real sequences of the fixture's assemblies, from the embedded corpus
# (yeast: its chromosomes I, III, VI) and, for Vibrio, which is not embedded, a two-window cut of it
REAL = {
    "GCF_000005845.2": (CORPUS / "PRO/Escherichia_coli_K-12_MG1655.fna.gz", None),
    "GCF_000006745.1": (FIXTURE_GENOMES / "PRO/Vibrio_cholerae_O1_El_Tor_N16961_cut.fna.gz", None),
    "GCF_000009645.1": (CORPUS / "PRO/Staphylococcus_aureus_N315.fna.gz", None),
    "GCF_000012045.1": (CORPUS / "strains/Staphylococcus_aureus_COL.fna.gz", None),
    "GCF_000013465.1": (CORPUS / "strains/Staphylococcus_aureus_USA300_FPR3757.fna.gz", None),
    "GCF_000021165.1": (CORPUS / "PRO/Helicobacter_pylori_G27.fna.gz", None),
    "GCF_000024185.1": (CORPUS / "PRO/ARCHAEA_Methanobrevibacter_ruminantium_M1.fna.gz", None),
    "GCF_000146045.2": (CORPUS / "EUK/Saccharomyces_cerevisiae_S288C_chrI_III_VI.fna.gz", None),
    "GCF_000840245.1": (CORPUS / "VIR/Escherichia_phage_lambda.fna.gz", None),
    "GCF_009858895.2": (
        CORPUS / "VIR/SARS-CoV-2_Wuhan-Hu-1.fna.gz",
        CORPUS / "VIR/SARS-CoV-2_Wuhan-Hu-1.gff3.gz",
    ),
}
LAMBDA_FTP = "https://ftp.ncbi.nlm.nih.gov/genomes/all/GCF/000/840/245/GCF_000840245.1_ViralProj14204"


def _fixture_paths() -> dict[str, list[Path]]:
    return {k: [FIXTURES / f"assembly_summary_{g}.txt" for g in groups] for k, groups in SUMMARIES.items()}


def _regzip(path: Path) -> bytes:
    return gzip.compress(gzip.decompress(path.read_bytes()), compresslevel=1, mtime=0)


def _add_assembly(
    root: Path, ftp_path: str, files: dict[str, bytes], md5_override: dict[str, str] | None = None
) -> str:
    """Lay out one assembly folder as on NCBI's site; returns its URL path."""
    url_path = urlsplit(ftp_path).path
    folder = root / url_path.lstrip("/")
    folder.mkdir(parents=True, exist_ok=True)
    stem = url_path.rsplit("/", 1)[-1]
    lines = []
    for suffix, data in files.items():
        (folder / f"{stem}_{suffix}").write_bytes(data)
        digest = (md5_override or {}).get(suffix) or hashlib.md5(data).hexdigest()
        lines.append(f"{digest}  ./{stem}_{suffix}")
    lines.append(f"{'0' * 32}  ./{stem}_protein.faa.gz")  # listed but not served: must be ignored
    (folder / "md5checksums.txt").write_text("\n".join(lines) + "\n")
    return url_path


@contextmanager
def serve(root: Path, fail_once: tuple[str, ...] = ()) -> Iterator[tuple[str, list[str]]]:
    """Static server on 127.0.0.1 (ephemeral port); ``fail_once`` paths answer 503 the first time;
    ``/truncated`` promises 1000 bytes and sends 10. Stops on exit, or by itself after 120 s."""
    requests: list[str] = []
    failing = set(fail_once)

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path in failing:
                failing.discard(self.path)
                self.send_error(503, "Service Unavailable")
            elif self.path.startswith("/truncated"):
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"0123456789")
                self.close_connection = True
            else:
                super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    guard = threading.Timer(120, server.shutdown)
    guard.daemon = True
    thread.start()
    guard.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        guard.cancel()
        server.shutdown()
        server.server_close()
        thread.join(5)


def _taxdump_tar(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name in ("names.dmp", "nodes.dmp", "rankedlineage.dmp"):  # names.dmp: a member to skip
            data = (
                b"1\t|\troot\t|\t\t|\tscientific name\t|\n"
                if name == "names.dmp"
                else (FIXTURES / name).read_bytes()
            )
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def ncbi_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the parts of NCBI's site the code reads: summaries, new_taxdump, assembly folders."""
    root = tmp_path_factory.mktemp("ncbi_site")
    for kingdom, groups in ncbi.KINGDOM_GROUPS.items():
        for group in groups:
            dest = root / "genomes" / "refseq" / group / "assembly_summary.txt"
            dest.parent.mkdir(parents=True)
            source = FIXTURES / f"assembly_summary_{group}.txt"
            if source.exists():
                shutil.copyfile(source, dest)
            else:  # a group with no selected rows: header only
                head = (FIXTURES / "assembly_summary_fungi.txt").read_text().splitlines()[:2]
                dest.write_text("\n".join(head) + "\n")
        assert kingdom in SUMMARIES
    dump = root / "pub" / "taxonomy" / "new_taxdump" / "new_taxdump.tar.gz"
    dump.parent.mkdir(parents=True)
    _taxdump_tar(dump)
    (dump.parent / "new_taxdump.tar.gz.md5").write_text(
        f"{hashlib.md5(dump.read_bytes()).hexdigest()}  new_taxdump.tar.gz\n"
    )
    for line in (FIXTURES / "expected_manifest.tsv").read_text().splitlines()[1:]:
        row = line.split("\t")
        accession, ftp_path = row[1], row[6]
        fna, gff = REAL[accession]
        files = {"genomic.fna.gz": _regzip(fna)}
        if gff:
            files["genomic.gff.gz"] = _regzip(gff)
        _add_assembly(root, ftp_path, files)
    return root


def _lambda_site(root: Path, md5_override: dict[str, str] | None = None) -> tuple[Path, str]:
    """One small real assembly (phage lambda) and a one-row manifest for it."""
    url_path = _add_assembly(root / "site", LAMBDA_FTP, {"genomic.fna.gz": _regzip(REAL["GCF_000840245.1"][0])},
                             md5_override)  # fmt: skip
    manifest = root / "manifest.tsv"
    manifest.write_text("accession\tkingdom\torganism\tftp_path\nGCF_000840245.1\tVIR\tEnterobacteria phage lambda\t"
                        f"{LAMBDA_FTP}\n")  # fmt: skip
    return manifest, f"{url_path}/GCF_000840245.1_ViralProj14204_genomic.fna.gz"


def _no_partial_files(*folders: Path) -> bool:
    return not any(
        p.name.endswith(".part") for folder in folders if folder.exists() for p in folder.rglob("*")
    )


def test_selection_gives_exactly_the_expected_manifest(tmp_path: Path) -> None:
    lineage = ncbi.LineageTable.from_taxdump(FIXTURES)
    out = ncbi.write_manifest(ncbi.select_assemblies(_fixture_paths(), lineage), tmp_path / "m.tsv")
    assert out.read_text() == (FIXTURES / "expected_manifest.tsv").read_text()
    entries = ncbi.read_manifest(out)
    # replaced version (MW2), category 'na' (C. diphtheriae), 4th Staphylococcus (Chromosome level) are out
    assert {e.accession for e in entries}.isdisjoint(
        {"GCF_000011265.1", "GCF_001457455.1", "GCF_000013425.1"}
    )
    assert [e.kingdom for e in entries] == ["PRO"] * 7 + ["EUK"] + ["VIR"] * 2


def test_selection_knobs(tmp_path: Path) -> None:
    lineage = ncbi.LineageTable.from_taxdump(FIXTURES)
    paths = _fixture_paths()
    staph = lambda es: [e.accession for e in es if e.genus == "Staphylococcus"]  # noqa: E731
    assert staph(ncbi.select_assemblies(paths, lineage, per_genus=1)) == ["GCF_000009645.1"]
    assert (
        staph(ncbi.select_assemblies(paths, lineage, per_genus=4))[-1] == "GCF_000013425.1"
    )  # Chromosome last
    assert "GCF_000013425.1" not in staph(
        ncbi.select_assemblies(paths, lineage, per_genus=9, levels=("Complete Genome",))
    )
    capped = ncbi.select_assemblies({"PRO": paths["PRO"]}, lineage, max_per_kingdom=6)
    # every genus' first pick before any second pick: USA300 (3rd Staphylococcus) is the one cut
    assert "GCF_000013465.1" not in [e.accession for e in capped] and len(capped) == 6
    refs = ncbi.select_assemblies(paths, lineage, categories=("reference genome",))
    assert [e.accession for e in refs] == [
        "GCF_000005845.2",
        "GCF_000146045.2",
        "GCF_000840245.1",
        "GCF_009858895.2",
    ]
    with pytest.raises(ConfigError):
        ncbi.select_assemblies(paths, lineage, per_genus=0)
    with pytest.raises(ConfigError):
        ncbi.select_assemblies({"BAC": paths["PRO"]}, lineage)


def test_summary_is_parsed_by_header_names(tmp_path: Path) -> None:
    """Reordered columns and a new column change nothing; a short row is an error naming file and line."""
    lines = (FIXTURES / "assembly_summary_bacteria.txt").read_text().splitlines()
    table = [line.lstrip("#").split("\t") for line in lines[1:]]
    order = list(reversed(range(len(table[0]))))
    body = ["\t".join([row[i] for i in order] + ["x"]) for row in table]
    moved = tmp_path / "assembly_summary.txt"
    moved.write_text("\n".join([lines[0], "#" + body[0][:-1] + "new_column", *body[1:]]) + "\n")
    lineage = ncbi.LineageTable.from_taxdump(FIXTURES)
    assert ncbi.select_assemblies({"PRO": [moved]}, lineage) == ncbi.select_assemblies(
        {"PRO": [FIXTURES / "assembly_summary_bacteria.txt"]}, lineage
    )
    broken = tmp_path / "broken.txt"
    broken.write_text("\n".join([*lines[:4], lines[4].rsplit("\t", 3)[0], *lines[5:]]) + "\n")
    with pytest.raises(InputError) as err:
        ncbi.select_assemblies({"PRO": [broken]}, lineage)
    assert err.value.path == str(broken) and err.value.line == 5


def test_taxdump_is_streamed_from_the_tarball_and_filtered(tmp_path: Path) -> None:
    table = ncbi.LineageTable.from_taxdump(
        _taxdump_tar(tmp_path / "new_taxdump.tar.gz"), {"559292", "2697049"}
    )
    assert set(table.rows) == {"559292", "2697049"}
    yeast = table.get("559292")
    assert yeast is not None and (yeast.domain, yeast.genus, yeast.genetic_code) == (
        "Eukaryota",
        "Saccharomyces",
        1,
    )
    sars = table.get("2697049")
    assert sars is not None and sars.genetic_code is None and sars.domain == "Viruses"
    (tmp_path / "bad.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(InputError):
        ncbi.LineageTable.from_taxdump(tmp_path / "bad.tar.gz")


def test_online_resolution_and_download_end_to_end(ncbi_site: Path, tmp_path: Path) -> None:
    cache, out = tmp_path / "cache", tmp_path / "corpus"
    with serve(ncbi_site) as (url, requests):
        manifest = tmp_path / "manifest.tsv"
        download.resolve_manifest_online(manifest, base_url=url, cache_dir=cache, backoff=0)
        assert manifest.read_text() == (FIXTURES / "expected_manifest.tsv").read_text()
        assert download.materialize_manifest(manifest, out, cache_dir=cache, base_url=url, backoff=0) == out
        first = len(requests)
        download.resolve_manifest_online(manifest, base_url=url, cache_dir=cache, backoff=0)
        download.materialize_manifest(manifest, out, cache_dir=cache, base_url=url, backoff=0)
        assert len(requests) == first  # everything came from the cache
    assert not any("protein" in r for r in requests) and _no_partial_files(out, cache)

    entries = ncbi.read_manifest(manifest)
    read = lambda p: list(csv.DictReader(p.open(), delimiter="\t"))  # noqa: E731
    corpus_tax = (CORPUS / "TAXONOMY.tsv").read_text().splitlines()[0]
    corpus_man = (CORPUS / "MANIFEST.tsv").read_text().splitlines()[0]
    assert (out / "TAXONOMY.tsv").read_text().splitlines()[0] == corpus_tax
    assert (out / "MANIFEST.tsv").read_text().splitlines()[0] == corpus_man
    taxonomy = {row["file"]: row for row in read(out / "TAXONOMY.tsv")}
    fastas = sorted(p.relative_to(out).as_posix() for p in out.glob("*/*.fna.gz"))
    assert sorted(taxonomy) == fastas == sorted(f"{e.kingdom}/{e.genome_id}.fna.gz" for e in entries)
    known_rows = {  # the served files' MANIFEST rows, by path
        folder / row["file"]: row
        for folder, table in (
            (CORPUS, "MANIFEST.tsv"),
            (CORPUS, "strains/MANIFEST.tsv"),
            (FIXTURE_GENOMES, "MANIFEST.tsv"),
        )
        for row in read(folder / table)
    }
    corpus = {row["file"]: row for row in read(out / "MANIFEST.tsv")}
    for e in entries:
        rel = f"{e.kingdom}/{e.genome_id}.fna.gz"
        real = REAL[e.accession][0]
        assert gzip.decompress((out / rel).read_bytes()) == gzip.decompress(real.read_bytes())
        row = corpus[rel]
        assert row["sha256"] == hashlib.sha256((out / rel).read_bytes()).hexdigest()
        assert row["source"].startswith(url) and row["source"].endswith("_genomic.fna.gz")
        assert row["license_provenance"] == ncbi.LICENSE and row["accession"] == e.accession
        known = known_rows[real]  # strains/MANIFEST.tsv has fewer columns
        for col in ("total_bp", "n_contigs", "n_N", "n_other_iupac"):
            assert col not in known or row[col] == known[col], (rel, col)
        assert "gc" not in known or abs(float(row["gc"]) - float(known["gc"])) < 1e-3
        assert int(row["total_bp"]) > 0 and int(row["n_contigs"]) >= 1
        assert taxonomy[rel]["genus"] == e.genus and taxonomy[rel]["genetic_code"] == e.genetic_code
    gff = [row for row in corpus.values() if row["annotation_of"]]
    assert [(g["file"], g["annotation_of"]) for g in gff] == [
        ("VIR/Severe_acute_respiratory_syndrome_coronavirus_2_Wuhan-Hu-1_GCF_009858895_2.gff3.gz",
         "Severe_acute_respiratory_syndrome_coronavirus_2_Wuhan-Hu-1_GCF_009858895_2.fna.gz")
    ]  # fmt: skip

    # the corpus reader of the dataset builder accepts the folder (TAXONOMY.tsv keyed by relative file path)
    if importlib.util.find_spec("genobench_hf.data.taxonomy") is not None:
        from genobench_hf.data.taxonomy import load_corpus

        loaded = {g.file: g for g in load_corpus(out)}
        assert sorted(loaded) == fastas
        sars = loaded["VIR/Severe_acute_respiratory_syndrome_coronavirus_2_Wuhan-Hu-1_GCF_009858895_2.fna.gz"]
        assert sars.annotation is not None and sars.annotation.name.endswith(".gff3.gz")


def test_retry_after_503(tmp_path: Path) -> None:
    manifest, fna_path = _lambda_site(tmp_path)
    with serve(tmp_path / "site", fail_once=(fna_path,)) as (url, requests):
        out = download.materialize_manifest(
            manifest, tmp_path / "out", cache_dir=tmp_path / "cache", base_url=url, backoff=0
        )
    assert requests.count(fna_path) == 2
    assert (out / "VIR" / "Enterobacteria_phage_lambda_GCF_000840245_1.fna.gz").is_file()


def test_checksum_mismatch_fails_and_leaves_nothing(tmp_path: Path) -> None:
    manifest, fna_path = _lambda_site(tmp_path, md5_override={"genomic.fna.gz": "f" * 32})
    with serve(tmp_path / "site") as (url, requests), pytest.raises(InputError, match="checksum mismatch"):
        download.materialize_manifest(manifest, tmp_path / "out", cache_dir=tmp_path / "cache", base_url=url,
                                  retries=1, backoff=0)  # fmt: skip
    assert requests.count(fna_path) == 2
    assert not list((tmp_path / "cache").rglob("*.fna.gz")) and not (tmp_path / "out").exists()
    assert _no_partial_files(tmp_path / "cache")


def test_missing_file_404_fails_at_once(tmp_path: Path) -> None:
    manifest, _ = _lambda_site(tmp_path)
    manifest.write_text(manifest.read_text().replace("ViralProj14204", "ViralProj0"))
    with serve(tmp_path / "site") as (url, requests), pytest.raises(InputError, match="HTTP 404") as err:
        download.materialize_manifest(
            manifest, tmp_path / "out", cache_dir=tmp_path / "cache", base_url=url, backoff=0
        )
    assert len(requests) == 1 and err.value.path is not None and err.value.path.endswith("md5checksums.txt")


def test_interrupted_transfer_leaves_no_partial_file(tmp_path: Path) -> None:
    with serve(tmp_path) as (url, requests), pytest.raises(InputError, match="2 attempt"):
        download.download(f"{url}/truncated", tmp_path / "dl" / "x.gz", retries=1, backoff=0, timeout=5)
    assert len(requests) == 2 and not list((tmp_path / "dl").iterdir())


def test_manifest_row_with_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "manifest.tsv"
    lines = (FIXTURES / "expected_manifest.tsv").read_text().splitlines()
    path.write_text("\n".join([lines[0], lines[1], lines[2].rsplit("\t", 1)[0]]) + "\n")
    with pytest.raises(InputError, match="a column is missing") as err:
        download.materialize_manifest(path, tmp_path / "out", cache_dir=tmp_path / "cache")
    assert err.value.path == str(path) and err.value.line == 3 and "line 3" in str(err.value)
    path.write_text("accession\tkingdom\nGCF_000840245.1\tVIR\n")
    with pytest.raises(InputError, match="ftp_path") as err:
        ncbi.read_manifest(path)
    assert err.value.line == 1


def test_genome_ids_are_safe_and_unique() -> None:
    gid = ncbi.genome_id_for(
        "Escherichia coli str. K-12 substr. MG1655", "K-12 substr. MG1655", "GCF_000005845.2"
    )
    assert gid == "Escherichia_coli_str_K-12_substr_MG1655_GCF_000005845_2"
    assert ncbi.genome_id_for("Homo sapiens", "", "GCF_000001405.40") != ncbi.genome_id_for(
        "Homo sapiens", "", "GCF_000001405.39"
    )
    assert ncbi.genome_id_for("a/b\\c: d*", "x", "GCF_1.1") == "a_b_c_d_x_GCF_1_1"


def test_cli_offline_select_and_error_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location(
        "select_ncbi_genomes", Path(__file__).parents[1] / "datasets_scripts" / "select_ncbi_genomes.py"
    )
    assert spec is not None and spec.loader is not None
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    args = ["select", "--out", str(tmp_path / "m.tsv"), "--taxdump", str(FIXTURES)]
    for kingdom, paths in _fixture_paths().items():
        args += [x for p in paths for x in ("--summary", f"{kingdom}={p}")]
    assert cli.main(args) == 0
    assert (tmp_path / "m.tsv").read_text() == (FIXTURES / "expected_manifest.tsv").read_text()
    (tmp_path / "bad.tsv").write_text("accession\n")
    assert cli.main(["download", str(tmp_path / "bad.tsv"), "--out", str(tmp_path / "o")]) == 2
    assert "bad.tsv" in capsys.readouterr().err
