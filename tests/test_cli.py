"""The console script as a person meets it: fast --help, usable `models` output, aliases, --device."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from genobench_hf import cli
from genobench_hf.cli import COMMANDS, build_parser, main
from genobench_hf.devices import check_device, parse_device
from genobench_hf.errors import ConfigError

HEAVY = ("torch", "transformers", "datasets", "accelerate")


def _imported_after(code: str) -> list[str]:
    """Which heavy packages a fresh interpreter holds after running ``code``."""
    probe = f"import sys\n{code}\nprint('HEAVY', *(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[-1].split()[1:]


def test_help_imports_no_heavy_package() -> None:
    """Building the parser and printing --help import neither torch, transformers nor datasets."""
    assert _imported_after("from genobench_hf.cli import build_parser\nbuild_parser().format_help()") == []
    for argv in (["--help"], ["evaluate", "--help"], ["run", "--help"], ["models", "--help"]):
        code = f"from genobench_hf.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
        assert _imported_after(code) == [], argv


def test_every_command_listed_with_its_own_help_line() -> None:
    """The names-only listing says what each command's module says (no drift between the two)."""
    for name, (_module, line) in COMMANDS.items():
        parser = build_parser(name)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        helps = {c.dest: c.help for c in sub._choices_actions}
        assert helps[name] == line, name
        assert sub.choices[name].get_default("func") is not None, name
    assert set(sub.choices) == set(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_help_exits_zero(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0 and command in capsys.readouterr().out


def test_unknown_command_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["evalute"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err


# -- genobench models -------------------------------------------------------------------------------


def test_models_piped_is_plain_and_whole(capsys: pytest.CaptureFixture[str]) -> None:
    """Not a terminal: one line per model, Hub ids whole, the family column present, no box drawing."""
    from genobench_hf.registry import available_models

    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    entries = list(available_models().values())
    assert lines[0].split()[:2] == ["name", "family"] and len(lines) == 1 + len(entries)
    assert not any(ch in "".join(lines) for ch in "│┃━─")
    for entry, line in zip(entries, lines[1:], strict=True):
        assert line.startswith(entry.name + " ") and entry.family in line
        if entry.hub_id:
            assert f" {entry.hub_id} " in line
    hyena = [line for line in lines if "LongSafari/hyenadna-tiny-1k-seqlen-hf" in line]
    assert len(hyena) == 1 and "HyenaDNA" in hyena[0]  # `| grep` finds the id with its family


def test_models_formats(capsys: pytest.CaptureFixture[str]) -> None:
    from genobench_hf.registry import available_models, markdown_table
    from genobench_hf.registry.table import HEADERS

    n = len(available_models())
    assert main(["models", "--format", "tsv"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == HEADERS and len(rows) == n + 1 and {len(r) for r in rows} == {len(HEADERS)}
    assert rows[1][2] == "InstaDeepAI/nucleotide-transformer-500m-human-ref"  # no Markdown backticks
    assert main(["models", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == n
    assert main(["models", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.strip() == markdown_table()
    assert main(["models", "--format", "plain", "--family", "hyena"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 5
    with pytest.raises(SystemExit):
        main(["models", "--format", "tsv", "--json"])  # one format at a time


def test_models_on_a_narrow_terminal_never_cuts_an_id(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal too narrow for the table gets the plain listing (the terminal soft-wraps whole lines)."""
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["models", "--family", "caduceus"]) == 0
    out = capsys.readouterr().out
    assert "kuleshov-group/caduceus-ph_seqlen-131k_d_model-256_n_layer-16" in out


def test_broken_pipe_is_quiet() -> None:
    """`genobench models | head -1`: no BrokenPipeError traceback."""
    code = "from genobench_hf.cli import main; raise SystemExit(main(['models', '--format', 'tsv']))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().startswith(b"name\t")
    proc.stdout.close()
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipe" not in err


# -- lm-evaluation-harness spellings and --device ------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["evaluate", "--model", "m", "--batch_size", "3", "--output_path", "r.json"],
         {"batch_size": 3, "output": Path("r.json")}),
        (["evaluate", "--model", "m", "--batch-size", "5", "--output", "s.json"],
         {"batch_size": 5, "output": Path("s.json")}),
        (["train", "--arch", "lstm", "--dataset", "PRO", "--out", "o", "--batch_size", "7"], {"batch_size": 7}),
        (["run", "--output_path", "outdir", "--device", "CPU"], {"out": Path("outdir"), "device": "cpu"}),
        (["evaluate", "--model", "m", "--device", "cuda:1"], {"device": "cuda:1"}),
    ],
)  # fmt: skip
def test_aliases_and_device_parse(argv: list[str], expected: dict[str, object]) -> None:
    args = build_parser(argv[0]).parse_args(argv)
    assert {k: getattr(args, k) for k in expected} == expected
    if argv[0] != "train":
        assert args.device == expected.get("device", "auto")


def test_output_path_folder_holds_model_json(tmp_path: Path) -> None:
    from genobench_hf.commands.evaluate import output_path

    assert output_path(tmp_path, "org/model") == tmp_path / "org__model.json"
    assert output_path(tmp_path / "r.json", "org/model") == tmp_path / "r.json"


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "cpu:0", ""])
def test_device_spelling_errors(bad: str) -> None:
    with pytest.raises(ConfigError, match="--device must be auto, cpu, cuda or cuda:N"):
        parse_device(bad)


def test_cuda_without_cuda_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0"):
        with pytest.raises(ConfigError, match=f"--device {device}: CUDA is not available.*--device cpu"):
            check_device(device)
    check_device("cpu")
    check_device("auto")


def test_evaluate_records_device_and_refuses_missing_cuda(
    built_corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    data, _ = built_corpus
    common = ["evaluate", "--model", "markov:2", "--tasks", "next_nucleotide", "--datasets", "VIR",
              "--data-dir", str(data), "--limit", "8", "--n-bootstrap", "10", "--baseline", "none", "--quiet"]  # fmt: skip
    out = tmp_path / "r.json"
    assert main([*common, "--device", "cpu", "--output_path", str(out), "--batch_size", "4"]) == 0
    doc = json.loads(out.read_text())
    assert doc["config"]["device"] == "cpu" and doc["environment"]["device"] == "cpu"
    assert doc["config"]["batch_size"] == 4
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    capsys.readouterr()
    assert main([*common, "--device", "cuda", "--output", str(tmp_path / "c.json")]) == 2
    err = capsys.readouterr().err
    assert "--device cuda: CUDA is not available" in err and "Traceback" not in err
    assert not (tmp_path / "c.json").exists()


def test_resume_hints(tmp_path: Path) -> None:
    """Each command says what a rerun does: evaluate/run resume from the cache, train needs --resume."""

    def hint(argv: list[str]) -> str:
        return cli.resume_hint(build_parser(argv[0]).parse_args(argv), argv)

    assert "the same command resumes" in hint(["evaluate", "--model", "m"])
    assert "genobench evaluate --model m" in hint(["evaluate", "--model", "m"])
    assert "nothing was cached (--no-resume)" in hint(["evaluate", "--model", "m", "--no-resume"])
    assert "the same command resumes" in hint(["run", "--out", str(tmp_path)])
    train = ["train", "--arch", "lstm", "--dataset", "PRO", "--out", str(tmp_path)]
    assert "no checkpoint was written yet" in hint(train)
    step = tmp_path / "checkpoints" / "step-00000100"
    step.mkdir(parents=True)
    (step / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoints" / "latest").write_text(step.name)
    assert hint(train).endswith(" --resume") and "continue from the last checkpoint" in hint(train)
    assert "nothing was kept" in hint(["report", "r.json", "--out", str(tmp_path)])


# -- Ctrl-C and SIGTERM --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_mlm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from genobench_hf import testing as T

    folder = tmp_path_factory.mktemp("mlm") / "m"
    tok = T.char_tokenizer()
    T.tiny_masked_lm(tok).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "name"), [("SIGTERM", 143, "SIGTERM"), ("SIGINT", 130, "Ctrl-C")])
def test_interrupt_says_how_to_resume_and_rerun_resumes(
    built_corpus, tiny_mlm: Path, tmp_path: Path, sig: str, code: int, name: str
) -> None:
    """Signal a real `genobench evaluate` after its first stage: exit 128+signal, a line with the command
    to rerun, and the rerun of that stage takes every chunk from the cache."""
    import os
    import shlex
    import signal

    data, _ = built_corpus
    out = tmp_path / "r.json"
    args = ["evaluate", "--model", str(tiny_mlm), "--tasks", "imputation", "--data-dir", str(data),
            "--n-sites", "64", "--baseline", "none", "--n-bootstrap", "10", "--output", str(out)]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "genobench_hf.cli", *args, "--datasets", "VIR,EUK,PRO"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("genobench: [1/3] imputation VIR: done"):
            break
    else:
        pytest.fail(f"no first stage line; stderr: {''.join(seen)}")
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"genobench: interrupted ({name}); finished chunks are cached; the same command")
    again = shlex.split(last.split("where it stopped: ", 1)[1])
    assert again == ["genobench", *args, "--datasets", "VIR,EUK,PRO"]
    assert "Traceback" not in err and not out.exists()
    if sig == "SIGINT":
        return  # the cache is the same for both signals: rerun once
    done = subprocess.run(
        [sys.executable, "-m", "genobench_hf.cli", *args, "--datasets", "VIR", "--quiet"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    timing = json.loads(out.read_text())["timing"]
    assert timing["cached_chunks"] > 0 and timing["computed_chunks"] == 0
