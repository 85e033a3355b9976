"""Hub repos: cards validate offline, shards rotate, push --dry-run never touches the network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from datasets import load_dataset
from huggingface_hub import DatasetCard

from genobench_hf.cards import EXAMPLE_PATH
from genobench_hf.cli import main
from genobench_hf.data import hub
from genobench_hf.data.hub import ShardWriter, push_dataset, validate_repo
from genobench_hf.errors import ConfigError, InputError


def test_cards_validate_offline(built_corpus):
    out, summary = built_corpus
    for d in summary.datasets:
        assert validate_repo(out / d.name, load=d.name == "VIR") == d.rows
        card = DatasetCard.load(out / d.name / "README.md")
        assert card.data.license == "other" and "fill-mask" in card.data.task_categories
        assert "| rare |" in card.text and "@software{genobench" in card.text and "sha256" in card.text


def test_stale_card_is_caught(built_corpus, tmp_path):
    out, _ = built_corpus
    repo = tmp_path / "VIR"
    shutil.copytree(out / "VIR", repo)
    readme = repo / "README.md"
    text = readme.read_text()
    n = validate_repo(repo, load=False)["test"]
    readme.write_text(text.replace(f"num_examples: {n}\n", f"num_examples: {n + 1}\n", 1), encoding="utf-8")
    with pytest.raises(InputError):
        validate_repo(repo)


def test_shards_rotate_and_load(tmp_path):
    schema = pa.schema([("x", pa.int64()), ("split", pa.string())])
    writer = ShardWriter(tmp_path, "train", schema, max_rows=40)
    for i in range(5):
        writer.write(pa.table({"split": ["train"] * 30, "x": list(range(i * 30, i * 30 + 30))}))
    paths = writer.close()
    assert [p.name for p in paths] == [f"train-{i:05d}-of-00004.parquet" for i in range(4)]
    ds = load_dataset(str(tmp_path), data_files={"train": "data/train-*"}, split="train")
    assert sorted(ds["x"]) == list(range(150))


def test_push_dry_run_makes_no_network_call(built_corpus, monkeypatch, capsys):
    out, _ = built_corpus

    class Boom:
        def __init__(self, *a, **k):
            raise AssertionError("HfApi must not be used in a dry run")

    monkeypatch.setattr("huggingface_hub.HfApi", Boom)
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_value")
    result = push_dataset(out / "EUK", "org/genobench-EUK", dry_run=True)
    assert result.dry_run and "README.md" in result.files and any(f.startswith("data/") for f in result.files)
    assert main(["datasets", "push", str(out / "EUK"), "--repo-id", "org/genobench-EUK", "--dry-run"]) == 0
    text = capsys.readouterr()
    assert "would upload" in text.out and "hf_secret" not in text.out + text.err
    with pytest.raises(ConfigError):
        push_dataset(out / "EUK", "no-slash", dry_run=True)


def test_push_calls_hub_api(built_corpus, monkeypatch):
    out, _ = built_corpus
    calls = []

    class Fake:
        def __init__(self, token=None):
            calls.append(("init", token))

        def create_repo(self, repo_id, **kw):
            calls.append(("create", repo_id, kw["repo_type"], kw["exist_ok"]))

        def upload_folder(self, **kw):
            calls.append(("upload", kw["repo_id"], kw["repo_type"]))
            return "https://example.invalid/commit"

    monkeypatch.setattr("huggingface_hub.HfApi", Fake)
    result = push_dataset(out / "VIR", "org/v", dry_run=False, token="t")
    assert calls == [("init", "t"), ("create", "org/v", "dataset", True), ("upload", "org/v", "dataset")]
    assert result.url


def test_info_command(built_corpus, capsys):
    out, _ = built_corpus
    assert main(["datasets", "info", str(out / "PRO_reads")]) == 0
    assert "rare" in capsys.readouterr().out
    assert hub.size_category(5) == "n<1K" and hub.size_category(20_000) == "10K<n<100K"


def test_card_template_is_package_data():
    import genobench_hf

    assert hub.TEMPLATE.is_file() and hub.TEMPLATE.is_relative_to(Path(genobench_hf.__file__).parent)


@pytest.mark.slow
def test_example_card_is_current(built_pro_with_conservation, repo_root):
    """cards/datasets/PRO/README.md is the card of the default PRO build. Regenerate it with
    `python -m genobench_hf.cards` (or run this test with GENOBENCH_UPDATE_CARDS=1)."""
    out, _ = built_pro_with_conservation
    fresh = (out / "PRO" / "README.md").read_text(encoding="utf-8")
    example = repo_root / EXAMPLE_PATH
    if os.environ.get("GENOBENCH_UPDATE_CARDS") == "1":
        example.parent.mkdir(parents=True, exist_ok=True)
        example.write_text(fresh, encoding="utf-8")
    assert example.read_text(encoding="utf-8") == fresh, "run `python -m genobench_hf.cards` to regenerate"
    assert "## Conservation" in fresh and "Helicobacter_pylori_G27" in fresh
