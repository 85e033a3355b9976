"""The six datasets build from the embedded corpus, load offline, and bad input fails cleanly."""

from __future__ import annotations

import atexit
import functools
import gzip
import random
import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

from genobench_hf.cli import main
from genobench_hf.data.build import ALL, build_all
from genobench_hf.data.rows import CONTIG_SCHEMA, READ_SCHEMA, load_genome, read_rows
from genobench_hf.data.splits import SPLITS
from genobench_hf.data.taxonomy import TAXONOMY_COLUMNS, embedded_corpus_dir, load_corpus
from genobench_hf.errors import InputError

READS = 50  # per genome in the shared test build: the build's cost is parsing, not reads


@functools.cache
def built_corpus() -> tuple[Path, object]:
    """Build all six datasets from the embedded corpus once per test session (shared by test modules)."""
    out = Path(tempfile.mkdtemp(prefix="genobench-test-build-"))
    atexit.register(shutil.rmtree, out, True)
    return out, build_all(out, reads_per_genome=READS, progress=False)


def write_fasta(path: Path, records: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(
        f">{rid}\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n"
        for rid, seq in records.items()
    )
    with gzip.open(path, "wt") as fh:
        fh.write(text)


def random_seq(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("ACGT") for _ in range(n))


def crafted_folder(root: Path, *, extra: dict[str, str] | None = None) -> Path:
    """A tiny user folder: 4 genera per kingdom (phylum 1 holds one genus: rare), soft-masking and IUPAC in PRO/g0."""
    rng = random.Random(7)
    rows = ["\t".join(TAXONOMY_COLUMNS)]
    for kingdom, domain in (("PRO", "Bacteria"), ("EUK", "Eukaryota"), ("VIR", "Viruses")):
        for i in range(4):
            rel = f"{kingdom}/{kingdom.lower()}_g{i}.fna.gz"
            seq = random_seq(rng, 3000 + 500 * i)
            if kingdom == "PRO" and i == 0:
                seq = seq[:100] + seq[100:200].lower() + "NNNNN" + "R" + seq[206:]
            write_fasta(root / rel, {f"{kingdom}{i}_c1": seq, f"{kingdom}{i}_c2": random_seq(rng, 400)})
            rows.append(
                f"{rel}\t{domain}\tPhy{kingdom}{min(i, 1)}\tC\tO\tF\tGen{kingdom}{i}\tGen{kingdom}{i} sp\t-\t11"
            )
    for rel, row in (extra or {}).items():
        rows.append(row)
        del rel
    (root / "TAXONOMY.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_six_datasets_load_offline_every_split_and_streaming():
    out, summary = built_corpus()
    assert [d.name for d in summary.datasets] == list(ALL)
    for d in summary.datasets:
        for split in SPLITS:
            ds = load_dataset(str(out / d.name), split=split)
            assert len(ds) == d.rows[split] > 0, (d.name, split)
            assert set(ds["split"]) == {split}
        first = next(iter(load_dataset(str(out / d.name), split="test", streaming=True)))
        assert first["split"] == "test"
    assert "PRO_reads" in summary.table() and "Rare taxa" in summary.table()
    reads = {d.name: d for d in summary.datasets}["VIR_reads"]
    assert sum(reads.rows.values()) == READS * reads.genomes


def test_row_columns_and_types():
    out, _ = built_corpus()
    table = pq.read_table(next((out / "PRO" / "data").glob("train-*.parquet")))
    assert table.schema.names == CONTIG_SCHEMA.names
    assert {"sequence", "genus", "species", "kingdom"} <= set(table.schema.names)
    row = table.slice(0, 1).to_pylist()[0]
    assert row["length"] == len(row["sequence"]) <= 1_000_000 and row["sequence"].isupper()
    reads = pq.read_table(next((out / "EUK_reads" / "data").glob("test-*.parquet")))
    assert reads.schema.names == READ_SCHEMA.names
    rows = reads.to_pylist()
    assert {r["strand"] for r in rows} == {"+", "-"}
    assert all(len(r["sequence"]) == 150 and r["end"] - r["start"] == 150 for r in rows)


def test_chunks_and_cds_of_real_genomes():
    out, summary = built_corpus()
    rows = [r for s in SPLITS for r in load_dataset(str(out / "EUK"), split=s)]
    arab = [r for r in rows if r["genome_id"].startswith("Arabidopsis")]
    assert [(r["chunk_index"], r["chunk_start"], r["length"]) for r in arab] == [
        (0, 0, 10**6),
        (1, 10**6, 10**6),
    ]
    assert sum(len(r["softmask"]) for r in arab) > 1000  # the TAIR chunk is soft-masked
    segs = [c for r in arab for c in r["cds"]]
    assert segs and all(c["transl_table"] == 1 and c["phase"] in (0, 1, 2) for c in segs)
    pro = {d.name: d for d in summary.datasets}["PRO"]
    assert pro.cds > 3000 and 0 < pro.translation_failures < 20
    myco = [
        r
        for s in SPLITS
        for r in load_dataset(str(out / "PRO"), split=s)
        if r["genome_id"].startswith("Mycoplasmoides")
    ]
    assert {c["transl_table"] for r in myco for c in r["cds"]} == {4}


def test_reads_deterministic_per_seed():
    entry = next(e for e in load_corpus(embedded_corpus_dir()) if e.genome_id == "Escherichia_phage_phiX174")
    genome = load_genome(entry)
    a = list(read_rows(genome, 40, 150, seed=1))
    b = list(read_rows(load_genome(entry), 40, 150, seed=1))
    c = list(read_rows(load_genome(entry), 40, 150, seed=2))
    assert a == b and a != c
    assert sum(r["strand"] == "-" for r in a) == 20


def test_softmask_and_iupac_on_crafted_folder(tmp_path):
    src = crafted_folder(tmp_path / "src")
    build_all(
        tmp_path / "out",
        source=src,
        taxonomy=src / "TAXONOMY.tsv",
        reads_per_genome=20,
        progress=False,
        names=("PRO", "VIR"),
    )
    rows = [r for s in SPLITS for r in load_dataset(str(tmp_path / "out" / "PRO"), split=s)]
    row = next(r for r in rows if r["contig_id"] == "PRO0_c1")
    assert row["sequence"].isupper() and row["sequence"][200:206] == "NNNNNR"
    assert row["softmask"] == [{"start": 100, "end": 200}]
    assert row["non_acgt"] == [{"start": 200, "end": 206}] and row["n_non_acgt"] == 6
    assert not (tmp_path / "out" / "EUK").exists()


def test_num_proc_gives_identical_output(tmp_path):
    src = crafted_folder(tmp_path / "src")
    for n in (1, 2):
        build_all(
            tmp_path / f"o{n}",
            source=src,
            reads_per_genome=30,
            num_proc=n,
            progress=False,
            names=("VIR_reads",),
        )
    for split in SPLITS:
        one = pq.read_table(next((tmp_path / "o1" / "VIR_reads" / "data").glob(f"{split}-*")))
        two = pq.read_table(next((tmp_path / "o2" / "VIR_reads" / "data").glob(f"{split}-*")))
        assert one.equals(two)


def test_taxonomy_missing_a_genome_names_both_files(tmp_path):
    src = crafted_folder(tmp_path / "src")
    write_fasta(src / "PRO" / "orphan.fna.gz", {"x": "ACGT" * 100})
    with pytest.raises(InputError) as err:
        build_all(tmp_path / "out", source=src, progress=False)
    assert "TAXONOMY.tsv" in str(err.value) and "orphan.fna.gz" in str(err.value)


def test_gff3_feature_outside_sequence(tmp_path):
    src = crafted_folder(tmp_path / "src")
    gff = "##gff-version 3\nVIR0_c1\tx\tCDS\t10\t99999\t.\t+\t0\tID=cds1\n"
    with gzip.open(src / "VIR" / "vir_g0.gff3.gz", "wt") as fh:
        fh.write(gff)
    with pytest.raises(InputError) as err:
        build_all(tmp_path / "out", source=src, progress=False, names=("VIR",))
    assert "vir_g0.gff3.gz" in str(err.value) and "VIR0_c1" in str(err.value) and "outside" in str(err.value)


def test_atomic_build_leaves_nothing_on_corrupt_genome(tmp_path):
    src = crafted_folder(tmp_path / "src")
    out = tmp_path / "out"
    build_all(out, source=src, reads_per_genome=5, progress=False, names=("PRO",))
    before = sorted(p.name for p in (out / "PRO" / "data").iterdir())
    target = src / "VIR" / "vir_g2.fna.gz"
    target.write_bytes(target.read_bytes()[:-40])  # truncated gzip
    with pytest.raises(InputError) as err:
        build_all(out, source=src, reads_per_genome=5, progress=False)
    assert "vir_g2.fna.gz" in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["PRO"]  # no partial dataset, no staging folder
    assert sorted(p.name for p in (out / "PRO" / "data").iterdir()) == before


def test_cli_build_from_source(tmp_path, capsys):
    src = crafted_folder(tmp_path / "src")
    code = main(
        [
            "datasets",
            "build",
            "--out",
            str(tmp_path / "out"),
            "--source",
            str(src),
            "--taxonomy",
            str(src / "TAXONOMY.tsv"),
            "--reads-per-genome",
            "10",
            "--quiet",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "PRO_reads" in text and "rare" in text
    assert main(["datasets", "build", "--out", str(tmp_path / "o2"), "--source", str(tmp_path / "nope")]) == 2
