"""The card written without ``datasets`` is byte-identical to the one ``datasets``/``huggingface_hub`` write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from genobench_hf.data import hub
from genobench_hf.data.card_yaml import features_yaml
from genobench_hf.data.rows import CONTIG_SCHEMA, READ_SCHEMA


def _reference_card(folder: Path, schema: pa.Schema, splits: dict[str, tuple[int, int]], ctx) -> str:
    """``hub.write_card`` as it was, through datasets and huggingface_hub."""
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData

    total = sum(n for n, _ in splits.values())
    card_data = DatasetCardData(
        license="other",
        license_name="public-insdc-records",
        pretty_name=f"genobench {ctx.name}",
        task_categories=hub.TASK_CATEGORIES,
        tags=hub.TAGS,
        size_categories=[hub.size_category(total)],
    )
    MetadataConfigs(
        {"default": {"data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}}
    ).to_dataset_card_data(card_data)
    split_dict = SplitDict()
    for split, (n, nbytes) in splits.items():
        split_dict.add(SplitInfo(name=split, num_examples=n, num_bytes=nbytes))
    info = DatasetInfo(
        features=Features.from_arrow_schema(schema),
        splits=split_dict,
        dataset_size=sum(b for _, b in splits.values()),
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)
    card = DatasetCard.from_template(
        card_data,
        template_path=str(hub.TEMPLATE),
        name=ctx.name,
        description=ctx.description,
        **ctx.template_vars,
    )
    card.save(folder / "REFERENCE.md")
    return (folder / "REFERENCE.md").read_text(encoding="utf-8")


EVERY_BRANCH = pa.schema(
    [
        ("u8", pa.uint8()),
        ("i32", pa.int32()),
        ("f32", pa.float32()),
        ("f16", pa.float16()),
        ("b", pa.binary()),
        ("ints", pa.list_(pa.int64())),
        ("nested", pa.list_(pa.list_(pa.string()))),
        ("big", pa.large_list(pa.struct([("x", pa.int8()), ("y", pa.large_string())]))),
        ("point", pa.struct([("a", pa.bool_()), ("tags", pa.list_(pa.string()))])),
        ("list_of_lists_of_structs", pa.list_(pa.list_(pa.struct([("z", pa.uint64())])))),
    ]
)


@pytest.mark.parametrize(
    "schema", [CONTIG_SCHEMA, READ_SCHEMA, EVERY_BRANCH], ids=["contigs", "reads", "every"]
)
def test_features_yaml_equals_datasets(schema: pa.Schema) -> None:
    from datasets import Features

    assert features_yaml(schema) == Features.from_arrow_schema(schema)._to_yaml_list()


def test_unmapped_types_fall_back_to_datasets() -> None:
    from datasets import Features

    schema = pa.schema([("when", pa.timestamp("s")), ("fixed", pa.list_(pa.int32(), 3))])
    assert features_yaml(schema) == Features.from_arrow_schema(schema)._to_yaml_list()


@pytest.mark.parametrize("is_reads", [False, True])
def test_card_bytes_identical_to_datasets_card(tmp_path: Path, is_reads: bool) -> None:
    schema = READ_SCHEMA if is_reads else CONTIG_SCHEMA
    splits = {"train": (18, 21_926_239), "validation": (4, 2_218_997), "test": (6, 7_676_800), "rare": (9, 1)}
    template_vars = {
        "version": "0.1.0", "source_text": "the embedded corpus — ünïcode", "k": 21, "sketch_size": 1000,
        "threshold": 0.01, "rare_rank": "phylum", "rare_max": 3, "is_reads": is_reads, "split_table": "| a |",
        "split_rows": [("train", "18")], "columns": [(c, "doc: `x`") for c in schema.names],
        "read_length": 150, "reads_per_genome": 20, "seed": 0, "chunk_size": 1_000_000,
        "translation_failures": 1, "cds": 10, "conservation_state": "on", "conservation": True,
        "conservation_rows": [{"genome_id": "g", "strains": "s1, s2", "preset": "asm20", "coverage": "0.9",
                               "coverage_all": "0.8", "conserved": "0.7", "mean": "0.95"}],
        "genomes": [{"genome_id": "g", "organism": "E. coli", "accession": "NC_1", "kingdom": "PRO",
                     "genus": "Escherichia", "split": "train", "bases": 4_641_652}],
        "repo_hint": "<org>/genobench-PRO",
    }  # fmt: skip
    ctx = hub.CardContext(
        "PRO_reads" if is_reads else "PRO", "Prokaryote genomes: 'quoted' #1", template_vars
    )
    written = hub.write_card(tmp_path, schema, splits, ctx).read_text(encoding="utf-8")
    assert written == _reference_card(tmp_path, schema, splits, ctx)


def test_build_does_not_import_datasets(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from genobench_hf.data.build import build_all;"
        f"build_all(Path({str(tmp_path)!r}), names=('VIR', 'VIR_reads'), reads_per_genome=5, progress=False,"
        " conservation=False); print(sorted(m for m in sys.modules if m.split('.')[0] == 'datasets'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert hub.validate_repo(tmp_path / "VIR") and hub.validate_repo(tmp_path / "VIR_reads")
