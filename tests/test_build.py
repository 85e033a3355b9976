"""The six datasets build from the embedded corpus, load offline, and bad input fails cleanly."""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import random
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import READS
from datasets import load_dataset

from genobench_hf.cli import main
from genobench_hf.commands.datasets import register
from genobench_hf.data.build import ALL, build_all
from genobench_hf.data.conservation import conservation_track, decode_row
from genobench_hf.data.conservation_cache import cache_key, cached_genome_conservation, load_track
from genobench_hf.data.fasta import reverse_complement
from genobench_hf.data.rows import CONTIG_SCHEMA, READ_SCHEMA, load_genome, read_rows
from genobench_hf.data.splits import SPLITS
from genobench_hf.data.taxonomy import TAXONOMY_COLUMNS, embedded_corpus_dir, load_corpus, load_strains
from genobench_hf.errors import InputError
from genobench_hf.tasks.conservation import sample_conserved_sites


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
                f"{rel}\t{domain}\tPhy{kingdom}{min(i, 1)}\tC\tO{i}\tF\tGen{kingdom}{i}\tGen{kingdom}{i} sp\t-\t11"
            )
    for rel, row in (extra or {}).items():
        rows.append(row)
        del rel
    (root / "TAXONOMY.tsv").write_text("\n".join(rows) + "\n")
    return root


def test_six_datasets_load_offline_every_split_and_streaming(built_corpus):
    out, summary = built_corpus
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


def test_row_columns_and_types(built_corpus):
    out, _ = built_corpus
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


def test_chunks_and_cds_of_real_genomes(built_corpus):
    out, summary = built_corpus
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


# -- conservation columns --------------------------------------------------------------------------------
def _mutate(seq: str, positions: list[int]) -> str:
    swap = {"A": "C", "C": "G", "G": "T", "T": "A"}
    s = list(seq)
    for p in positions:
        s[p] = swap.get(s[p], "A")
    return "".join(s)


def strain_folder(root: Path) -> tuple[Path, str]:
    """``crafted_folder`` whose PRO genome g0 (species 'GenPRO0 sp') has an 8 kb contig and two strains:
    one with SNPs at 1000 and 5000, one the reverse complement of a copy with an SNP at 3000."""
    rng = random.Random(11)
    ref = random_seq(rng, 8000)
    extra = {}
    for name in ("strain_a", "strain_b"):
        extra[name] = f"strains/{name}.fna.gz\tBacteria\tPhyPRO0\tC\tO\tF\tGenPRO0\tGenPRO0 sp\t-\t11"
    src = crafted_folder(root, extra=extra)
    write_fasta(src / "PRO" / "pro_g0.fna.gz", {"PRO0_c1": ref, "PRO0_c2": random_seq(rng, 400)})
    write_fasta(src / "strains" / "strain_a.fna.gz", {"a1": _mutate(ref, [1000, 5000])})
    write_fasta(src / "strains" / "strain_b.fna.gz", {"b1": reverse_complement(_mutate(ref, [3000]))})
    return src, ref


def _pro_rows(out: Path) -> dict[str, dict]:
    return {
        r["contig_id"]: r
        for s in SPLITS
        for r in pq.read_table(next((out / "PRO" / "data").glob(f"{s}-*"))).to_pylist()
    }


def test_conservation_columns_from_strains_cached_and_switchable(tmp_path, monkeypatch):
    src, ref = strain_folder(tmp_path / "src")
    cache = tmp_path / "cache"
    summary = build_all(tmp_path / "o1", source=src, reads_per_genome=5, progress=False, names=("PRO", "VIR"),
                        conservation_cache=cache)  # fmt: skip
    rows = _pro_rows(tmp_path / "o1")
    expected = conservation_track({"PRO0_c1": ref}, {
        "strain_a": {"a1": _mutate(ref, [1000, 5000])}, "strain_b": {"b1": reverse_complement(_mutate(ref, [3000]))}
    })  # fmt: skip
    aligned, agree = decode_row(rows["PRO0_c1"])
    np.testing.assert_array_equal(aligned, expected.n_aligned["PRO0_c1"])
    np.testing.assert_array_equal(agree, expected.n_agree["PRO0_c1"])
    assert aligned[4000] == 2 and agree[4000] == 2 and aligned[1000] == 2 and agree[1000] == 1
    assert rows["PRO0_c1"]["conservation_strains"] == ["strain_a", "strain_b"]
    other = rows["PRO1_c1"]  # a genome without strains: null columns, empty list
    assert decode_row(other) is None and other["conservation_strains"] == []
    assert decode_row(rows["PRO0_c2"]) is not None  # the reference's other contig has a track too
    assert list(summary.tracks) == ["pro_g0"] and summary.tracks["pro_g0"]["cached"] is False
    card = (tmp_path / "o1" / "PRO" / "README.md").read_text()
    assert "## Conservation" in card and "| pro_g0 | strain_a, strain_b | asm20 |" in card
    assert "no genome of this dataset has strains" in (tmp_path / "o1" / "VIR" / "README.md").read_text()
    assert "strain alignment" in summary.table()
    assert len(list(cache.glob("*.npz"))) == 1 and not list(cache.glob(".*"))

    def no_alignment(*_a, **_k):
        raise AssertionError("the cached track must be reused")

    monkeypatch.setattr("genobench_hf.data.conservation_cache.conservation_track", no_alignment)
    again = build_all(tmp_path / "o2", source=src, reads_per_genome=5, progress=False, names=("PRO", "VIR"),
                      conservation_cache=cache, num_proc=2)  # fmt: skip
    assert again.tracks["pro_g0"]["cached"] is True
    for split in SPLITS:
        one = pq.read_table(next((tmp_path / "o1" / "PRO" / "data").glob(f"{split}-*")))
        two = pq.read_table(next((tmp_path / "o2" / "PRO" / "data").glob(f"{split}-*")))
        assert one.equals(two)
    off = build_all(tmp_path / "o3", source=src, reads_per_genome=5, progress=False, names=("PRO",),
                    conservation=False)  # fmt: skip
    assert not off.tracks and all(decode_row(r) is None for r in _pro_rows(tmp_path / "o3").values())
    assert "--no-conservation" in (tmp_path / "o3" / "PRO" / "README.md").read_text()
    assert "skipped (--no-conservation)" in off.table()


def test_conservation_cache_round_trip_mismatch_and_corruption(tmp_path):
    src, ref = strain_folder(tmp_path / "src")
    entry = next(e for e in load_corpus(src) if e.genome_id == "pro_g0")
    strains = load_strains(src)
    reference = {"PRO0_c1": ref, "PRO0_c2": "ACGT" * 100}
    track, cached = cached_genome_conservation(entry, strains, reference=reference, cache_dir=tmp_path / "c")
    assert track is not None and not cached
    (path,) = (tmp_path / "c").glob("*.npz")
    back = load_track(path, reference, ["strain_a", "strain_b"])
    assert back is not None and back.summary() == track.summary()
    assert load_track(path, {"PRO0_c1": ref}, ["strain_a", "strain_b"]) is None  # other contigs
    assert load_track(path, reference, ["strain_a"]) is None  # other strains
    path.write_bytes(b"not a zip file")
    assert load_track(path, reference, ["strain_a", "strain_b"]) is None
    again, cached = cached_genome_conservation(entry, strains, reference=reference, cache_dir=tmp_path / "c")
    assert not cached and again.summary()["coverage"] == track.summary()["coverage"]
    assert load_track(path, reference, ["strain_a", "strain_b"]) is not None  # rewritten
    other = next(e for e in load_corpus(src) if e.genome_id == "pro_g1")
    assert cached_genome_conservation(other, strains, reference={}, cache_dir=tmp_path / "c") == (None, False)
    assert cache_key(entry.path, strains[:1], "asm20") != cache_key(entry.path, strains[:1], "asm10")


@pytest.mark.slow
def test_default_pro_build_has_conservation_for_the_strain_species(built_pro_with_conservation):
    """The real embedded corpus: H. pylori G27 and S. aureus N315 rows carry tracks that the
    conservation task can sample; every other genome has none."""
    out, summary = built_pro_with_conservation
    assert sorted(summary.tracks) == ["Helicobacter_pylori_G27", "Staphylococcus_aureus_N315"]
    for gid, track in summary.tracks.items():
        assert len(track["strains"]) == 4 and 0.85 <= track["coverage"] <= 0.99, (gid, track["coverage"])
    rows = [r for s in SPLITS for r in load_dataset(str(out / "PRO"), split=s)]
    with_track = [r for r in rows if decode_row(r) is not None]
    assert {r["genome_id"] for r in with_track} == set(summary.tracks)
    assert all(len(decode_row(r)[0]) == r["length"] for r in with_track)
    windows, cons = sample_conserved_sites(with_track, n_sites=200, window=64, seed=0, dataset="PRO")
    assert len(windows) == 200 and np.all((cons >= 0) & (cons <= 1)) and 0.8 < cons.mean() < 1.0


def test_build_script_has_the_cli_flags_and_builds(tmp_path, repo_root, capsys):
    spec = importlib.util.spec_from_file_location(
        "build_datasets", repo_root / "datasets_scripts" / "build_datasets.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    cli = argparse.ArgumentParser()
    register(cli.add_subparsers())
    build_cli = (
        cli._subparsers._group_actions[0].choices["datasets"]._subparsers._group_actions[0].choices["build"]
    )
    flags = {a.dest: (a.option_strings, a.default) for a in build_cli._actions}
    assert {a.dest: (a.option_strings, a.default) for a in script.parser()._actions} == flags
    assert "--no-conservation" in flags["no_conservation"][0]
    src = crafted_folder(tmp_path / "src")
    argv = [
        "--out",
        str(tmp_path / "out"),
        "--source",
        str(src),
        "--reads-per-genome",
        "5",
        "--names",
        "VIR",
        "--quiet",
    ]
    assert script.main(argv) == 0 and "VIR" in capsys.readouterr().out
    assert (tmp_path / "out" / "VIR" / "README.md").is_file()
    assert script.main(["--out", str(tmp_path / "o2"), "--source", str(tmp_path / "nope")]) == 2
