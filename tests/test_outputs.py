"""Output folders: read-only, an existing file, a full disk -> one clear line and exit 2, nothing half
written; a user's files are never deleted; staging folders of killed builds are cleaned up.

Read-only folders: as a normal user ``chmod 555`` makes a folder read-only; tests run as root in CI, where
permission bits do not stop writes, so there ``chattr +i`` (immutable) is used, and where that is not
available either (tmpfs, no CAP_LINUX_IMMUTABLE) the system calls that create files or folders under it are
monkeypatched to fail with EROFS, as a read-only mount would. A full disk is always simulated in-process:
``os.fdopen`` handles that write half of what they are given and then raise ``OSError(ENOSPC)``.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from test_build import crafted_folder

from genobench_hf.cli import main
from genobench_hf.data.build import STAGING_PREFIX, build_all
from genobench_hf.outputs import MANIFEST, OWNER, OutputError, atomic_write_text, make_staging

RESULTS = sorted((REPO_ROOT / "tests" / "fixtures" / "results").glob("*.json"))


def _immutable(path: Path, on: bool) -> bool:
    if shutil.which("chattr") is None:
        return False
    flag = "+i" if on else "-i"
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


@pytest.fixture
def read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder nothing can be written into (see the module docstring for how, as root or not)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
    elif _immutable(folder, True):
        yield folder
        _immutable(folder, False)
    else:
        real_open, real_mkdir = os.open, os.mkdir

        def under(path: object) -> bool:
            return Path(os.fspath(path)).resolve().is_relative_to(folder.resolve())  # type: ignore[arg-type]

        def fail_open(path, flags, *args, **kwargs):
            if under(path) and flags & os.O_CREAT:
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real_open(path, flags, *args, **kwargs)

        def fail_mkdir(path, *args, **kwargs):
            if under(path):
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "open", fail_open)
        monkeypatch.setattr(os, "mkdir", fail_mkdir)
        yield folder


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fdopen

    class Full:
        def __init__(self, fd: int, *args, **kwargs) -> None:
            self.handle = real(fd, *args, **kwargs)

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name: str):  # seek, tell, name, ... of a real file (zip writers need them)
            return getattr(self.handle, name)

    monkeypatch.setattr(os, "fdopen", Full)


def _commands(out: Path) -> dict[str, list[str]]:
    """Each command that writes an output folder (or file), pointed at ``out``."""
    return {
        "datasets build": ["datasets", "build", "--out", str(out), "--names", "VIR", "--quiet"],
        "evaluate": ["evaluate", "--model", "markov:2", "--output", str(out / "results.json"), "--quiet"],
        "run": ["run", "--out", str(out), "--archs", "none", "--quiet"],
        "report": ["report", str(RESULTS[0]), "--out", str(out)],
        "train": ["train", "--arch", "cnn", "--dataset", "VIR", "--steps", "1", "--out", str(out)],
    }


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("genobench: error: ")
    return err


@pytest.mark.parametrize("command", list(_commands(Path("x"))))
def test_read_only_output_is_one_line_and_exit_2(command, read_only: Path, capsys) -> None:
    target = read_only / "out"
    assert main(_commands(target)[command]) == 2
    err = _one_line_error(capsys)
    assert str(read_only) in err and "cannot write" in err and "choose another" in err
    assert not target.exists()


@pytest.mark.parametrize("command", list(_commands(Path("x"))))
def test_out_naming_an_existing_file_is_one_line_and_exit_2(command, tmp_path: Path, capsys) -> None:
    existing = tmp_path / "taken"
    existing.write_text("mine\n")
    argv = _commands(existing)[command]
    if command == "evaluate":  # --output is a file: its folder is the existing file
        argv[argv.index("--output") + 1] = str(existing / "results.json")
    assert main(argv) == 2
    err = _one_line_error(capsys)
    assert str(existing) in err
    assert existing.read_text() == "mine\n"


def test_evaluate_output_naming_a_folder(tmp_path: Path, capsys) -> None:
    assert main(["evaluate", "--model", "markov:2", "--output", str(tmp_path), "--quiet"]) == 2
    assert "is a folder" in _one_line_error(capsys)


def test_build_on_a_full_disk_leaves_the_old_datasets(tmp_path: Path, monkeypatch, capsys) -> None:
    src = crafted_folder(tmp_path / "src")
    out = tmp_path / "out"
    argv = [
        "datasets",
        "build",
        "--out",
        str(out),
        "--source",
        str(src),
        "--reads-per-genome",
        "5",
        "--quiet",
    ]
    assert main([*argv, "--names", "VIR"]) == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    from genobench_hf.data import hub

    real = hub.write_tables

    def full(folder, split, schema, tables, **limits):
        real(folder, split, schema, tables, **limits)  # this split's shards are on disk, then the disk fills
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hub, "write_tables", full)
    assert main([*argv, "--names", "VIR", "PRO"]) == 2
    err = _one_line_error(capsys)
    assert "no space left" in err and "free some space" in err
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the old VIR untouched, no PRO, no staging folder


def test_report_and_evaluate_on_a_full_disk_write_no_file(
    built_corpus, tmp_path: Path, monkeypatch, capsys
) -> None:
    data, _ = built_corpus
    report_dir = tmp_path / "report"
    output = tmp_path / "res" / "results.json"
    with monkeypatch.context() as m:
        _full_disk(m)
        assert main(["report", *map(str, RESULTS), "--out", str(report_dir)]) == 2
        assert "no space left" in _one_line_error(capsys)
        code = main(
            ["evaluate", "--model", "markov:2", "--tasks", "imputation", "--datasets", "VIR", "--limit", "10",
             "--baseline", "none", "--data-dir", str(data), "--output", str(output), "--no-resume", "--quiet"]
        )  # fmt: skip
        assert code == 2
        assert "no space left" in _one_line_error(capsys)
    assert not any(p.is_file() for p in report_dir.rglob("*"))  # no half figure, page or summary
    assert not output.exists() and not list(output.parent.glob(".results.json.*"))
    assert not list(output.parent.glob("*.sites.parquet"))  # no per-site records without their results


def test_train_on_a_full_disk_is_one_line(built_corpus, tmp_path: Path, monkeypatch, capsys) -> None:
    data, _ = built_corpus
    argv = ["train", "--arch", "cnn", "--dataset", "VIR", "--steps", "1", "--eval-every", "1",
            "--val-windows", "2", "--batch-size", "2", "--data-dir", str(data), "--out", str(tmp_path / "m"),
            "--quiet"]  # fmt: skip
    _full_disk(monkeypatch)
    assert main(argv) == 2
    assert "no space left" in _one_line_error(capsys)
    assert not (tmp_path / "m" / "training_metrics.json").exists()  # `genobench run` will train it again
    assert not list((tmp_path / "m").rglob("*.tmp"))  # no half-written file left behind


def test_atomic_write_keeps_the_old_file_on_a_full_disk(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "report.md"
    atomic_write_text(path, "old\n")
    _full_disk(monkeypatch)
    with pytest.raises(OSError):
        atomic_write_text(path, "new " * 1000)
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["report.md"]


# --------------------------------------------------------------------------- a user's files
def test_replacing_a_dataset_never_deletes_a_users_file(tmp_path: Path, capsys) -> None:
    src = crafted_folder(tmp_path / "src")
    out = tmp_path / "out"
    argv = ["datasets", "build", "--out", str(out), "--source", str(src), "--names", "VIR"]
    argv += ["--reads-per-genome", "5", "--quiet"]
    assert main(argv) == 0 and (out / "VIR" / MANIFEST).is_file()
    assert main(argv) == 0  # only genobench's own files: replaced without a word
    (out / "VIR" / "keep.txt").write_text("my notes\n")
    capsys.readouterr()
    assert main(argv) == 2
    err = _one_line_error(capsys)
    assert "keep.txt" in err and "--force" in err
    assert (out / "VIR" / "keep.txt").read_text() == "my notes\n"
    (out / "VIR" / "keep.txt").unlink()
    with (out / "VIR" / "README.md").open("a") as card:  # an edited card is the user's work too
        card.write("\nmy edit\n")
    assert main(argv) == 2 and "README.md" in _one_line_error(capsys)
    assert main([*argv, "--force"]) == 0
    assert "my edit" not in (out / "VIR" / "README.md").read_text()


def test_a_dataset_folder_from_before_manifests_is_replaced_only_if_it_is_all_ours(tmp_path: Path) -> None:
    src = crafted_folder(tmp_path / "src")
    out = tmp_path / "out"
    build_all(out, source=src, names=("VIR",), reads_per_genome=5, progress=False)
    (out / "VIR" / MANIFEST).unlink()  # as an older genobench wrote it: README.md + data/*.parquet
    build_all(out, source=src, names=("VIR",), reads_per_genome=5, progress=False)
    (out / "VIR" / MANIFEST).unlink()
    (out / "VIR" / "data" / "extra.csv").write_text("1,2\n")
    with pytest.raises(OutputError, match=r"extra\.csv"):
        build_all(out, source=src, names=("VIR",), reads_per_genome=5, progress=False)
    assert (out / "VIR" / "data" / "extra.csv").read_text() == "1,2\n"


# --------------------------------------------------------------------------- killed builds
_KILLED_BUILD = """
import sys, time
from pathlib import Path
import genobench_hf.data.build as build
build.assign_splits = lambda *a, **k: time.sleep(600)  # pass 1 done, staging written: wait to be killed
build.build_all(Path(sys.argv[2]), source=Path(sys.argv[1]), names=("VIR",), reads_per_genome=5, progress=False)
"""


def test_a_build_killed_with_sigkill_leaves_staging_that_the_next_build_removes(tmp_path: Path) -> None:
    src = crafted_folder(tmp_path / "src")
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_BUILD, str(src), str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(f"{STAGING_PREFIX}*/genomes/*.arrow")):
            assert proc.poll() is None and time.monotonic() < deadline, "the build did not start"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (stale,) = out.glob(f"{STAGING_PREFIX}*")
    assert (stale / OWNER).is_file()
    alive = make_staging(out, STAGING_PREFIX)  # a concurrent build (this process): must survive
    unknown = out / f"{STAGING_PREFIX}unknown"  # no owner record: not provably ours, left alone
    unknown.mkdir()
    summary = build_all(out, source=src, names=("VIR",), reads_per_genome=5, progress=False)
    assert not stale.exists() and alive.is_dir() and unknown.is_dir()
    assert any(str(stale) in w and "killed" in w for w in summary.warnings)
    assert any(str(unknown) in w and "no owner record" in w for w in summary.warnings)
    assert sorted(p.name for p in out.iterdir()) == sorted(["VIR", alive.name, unknown.name])
