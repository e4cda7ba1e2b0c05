import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
import torch

import basiskit
from basiskit import cli
from basiskit.cli import main

ENV = {**os.environ, "BASISKIT_PROGRESS": "0", "OMP_NUM_THREADS": "1"}


def run_cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "basiskit", *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=timeout)


def one_line_error(capsys) -> str:
    """The single stderr line of a usage error (nothing on stdout)."""
    captured = capsys.readouterr()
    err = captured.err
    assert err.startswith("basiskit: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_unknown_recipe_exits_2_with_suggestion(capsys):
    assert main(["run", "mlp-regresion"]) == 2
    err = one_line_error(capsys)
    assert "unknown recipe 'mlp-regresion'; did you mean 'mlp-regression'" in err
    assert main(["run", "tuor"]) == 2
    assert "unknown recipe 'tuor'; did you mean 'tour'" in one_line_error(capsys)


def test_usage_error_is_one_type_exported_at_the_top():
    assert cli.UsageError is basiskit.UsageError
    assert issubclass(basiskit.UsageError, ValueError)


@pytest.mark.parametrize(("args", "message"), [
    (["run", "kan-fit", "--set", "steps_per_grid=-1"], "recipe 'kan-fit': steps_per_grid must be >= 1, got -1"),
    (["run", "fno-darcy", "--quick", "--set", "n_train=0"], "recipe 'fno-darcy': n_train must be >= 1, got 0"),
    (["run", "mlp-regression", "--set", "nokey=1"], "unknown config key 'nokey' for recipe 'mlp-regression'"),
    (["run", "mlp-regression", "--set", "steps=abc"], "recipe 'mlp-regression': steps='abc': expected int"),
    (["run", "mlp-regression", "--set", "lr=0"], "recipe 'mlp-regression': lr must be > 0.0, got 0.0"),
    (["run", "mlp-regression", "--set", "activation=tnah"], "activation='tnah': expected one of"),
    (["run", "kat", "--set", "num_heads=5"], "recipe 'kat': embed_dim (192) must be divisible by num_heads (5)"),
    (["run", "mlp-regression", "--device", "gpu"], "device must be 'cpu', 'cuda' or 'cuda:N'"),
    (["run", "mlp-regression", "--device", "cuda:x"], "device must be 'cpu', 'cuda' or 'cuda:N'"),
    (["run", "tour", "--set", "steps=3"], "'run tour' takes no --set or --resume"),
    (["run", "tour", "--only", "mlp-regression,nope"], "unknown recipe 'nope'"),
    (["run", "mlp-regression", "--only", "kat"], "--only selects recipes of 'run tour'"),
    (["bench", "nosuchsuite"], "unknown bench suite 'nosuchsuite'"),
    (["bench", "kan", "--device", "tpu"], "device must be 'cpu', 'cuda' or 'cuda:N'"),
    (["bench", "kan", "--threads", "0"], "argument --threads: expected a whole number >= 1, got 0"),
    (["list", "widgets"], "argument kind: invalid choice: 'widgets'"),
    (["list", "models", "--markdown"], "--markdown is available for 'list recipes'"),
    (["run"], "the following arguments are required: recipe (see 'basiskit run --help')"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_every_usage_error_is_one_line_and_exit_2(capsys, args, message):
    """Each mistake is refused before any work starts (no run folder), in one line, exit code 2."""
    assert main([*args, "--out", "/nonexistent/never-written"] if args[0] == "run" and len(args) > 1
                else args) == 2
    assert message in one_line_error(capsys)


def test_bad_set_key_lists_valid_keys(capsys):
    assert main(["run", "mlp-regression", "--set", "stepz=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key 'stepz'" in err and "did you mean 'steps'" in err and "valid keys:" in err


def test_bad_set_value_names_expected_type(capsys):
    assert main(["run", "mlp-regression", "--set", "steps=many"]) == 2
    assert "steps='many': expected int" in one_line_error(capsys)
    assert main(["run", "mlp-regression", "--set", "steps"]) == 2
    assert "--set expects key=value" in one_line_error(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_cuda_without_cuda_says_so(capsys):
    assert main(["run", "mlp-regression", "--device", "cuda"]) == 2
    assert "device 'cuda': CUDA is not available" in one_line_error(capsys)


def test_unknown_bench_suite_and_empty_report(capsys, tmp_path):
    assert main(["bench", "nosuchsuite"]) == 2
    assert "unknown bench suite 'nosuchsuite'" in one_line_error(capsys)
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in one_line_error(capsys)
    assert main(["report", str(tmp_path)]) == 2
    assert "no finished runs" in one_line_error(capsys)


def test_list_shows_registries(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "recipes (" in out and "mlp-regression" in out and "[tour]" in out
    assert main(["list", "recipes", "--markdown"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| #") and "mlp-regression" in table
    flashkat = next(line for line in table.splitlines() if "FlashKAT" in line)
    assert flashkat.rstrip().endswith("| bench `grkan` |")  # a registry fact (papers.PAPERS), not a CLI branch


def test_a_broken_registry_module_surfaces(monkeypatch):
    """Only families that exist are listed; an import failure of a listed module is not swallowed."""
    monkeypatch.setitem(cli.REGISTRIES, "widgets", "basiskit.no_such_family:WIDGETS")
    with pytest.raises(ModuleNotFoundError, match="basiskit.no_such_family"):
        main(["list"])


def test_run_writes_run_folder_and_report(tmp_path, capsys):
    out = tmp_path / "runs"
    assert main(["run", "mlp-regression", "--quick", "--set", "steps=60", "--out", str(out), "--no-progress"]) == 0
    (run_dir,) = list((out / "mlp-regression").iterdir())
    for name in ("config.yaml", "metrics.json", "log.csv", "learning_curve.png", "prediction.png"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "checkpoint" / "mlp" / "latest").is_file()
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["status"] == "ok" and m["claims"][0]["metric"] == "test_rmse"
    assert m["claims"][0]["value"] == pytest.approx(m["metrics"]["test_rmse"])
    assert m["claims"][0]["timing"] is False
    # where and how long: the machine (also in config.yaml), wall and CPU seconds of the run
    assert m["machine"]["cores"] >= 1 and m["machine"]["threads"] >= 1 and m["machine"]["cpu"]
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["machine"] == m["machine"]
    assert m["seconds"] > 0 and m["cpu_seconds"] > 0
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    assert "data:image/png;base64," in html and "mlp-regression" in html
    assert "## mlp-regression" in md and "learning_curve.png" in md
    assert f"Ran on {m['machine']['cpu']} with {m['machine']['threads']} threads" in md
    assert f"Ran on {m['machine']['cpu']} with {m['machine']['threads']} threads" in html


def test_tour_prints_summary_table(tmp_path, capsys):
    assert main(["run", "tour", "--only", "mlp-regression", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| recipe" in out and "| mlp-regression" in out and "test_rmse=" in out


def test_killed_run_resumes_to_same_result(tmp_path):
    """A real kill (SIGKILL) mid-training, then --resume: same final figures as an uninterrupted run."""
    args = ["run", "mlp-regression", "--quick", "--set", "steps=1500", "--set", "checkpoint_every=100",
            "--set", "n_train=512", "--no-progress"]
    full = run_cli(*args, "--out", str(tmp_path / "a"))
    assert full.returncode == 0, full.stderr
    out_b = tmp_path / "b"
    proc = subprocess.Popen([sys.executable, "-m", "basiskit", *args, "--out", str(out_b)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out_b.glob("*/*/checkpoint/mlp/step_000000[2-9]00")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = run_cli("run", "mlp-regression", "--resume", "--out", str(out_b), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    (a,) = list((tmp_path / "a" / "mlp-regression").iterdir())
    (b,) = list((out_b / "mlp-regression").iterdir())
    ma, mb = (json.loads((p / "metrics.json").read_text())["metrics"] for p in (a, b))
    assert mb["test_rmse"] == pytest.approx(ma["test_rmse"], abs=1e-6)
    assert mb["train_loss"] == pytest.approx(ma["train_loss"], abs=1e-6)


def test_resume_without_earlier_run_is_a_usage_error(tmp_path, capsys):
    assert main(["run", "mlp-regression", "--resume", "--out", str(tmp_path)]) == 2
    assert "nothing to resume: no earlier run of 'mlp-regression'" in one_line_error(capsys)
    assert main(["run", "mlp-regression", "--resume", "--set", "steps=3", "--out", str(tmp_path)]) == 2
    assert "give no overrides (--set) with it" in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_out_of_range_value_from_a_shell_is_one_line_exit_2(tmp_path):
    """The same through a real process: no traceback, no run folder, exit code 2."""
    res = run_cli("run", "kan-fit", "--set", "steps_per_grid=-1", "--out", str(tmp_path), timeout=120)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr == "basiskit: error: recipe 'kan-fit': steps_per_grid must be >= 1, got -1\n"
    assert list(tmp_path.iterdir()) == []


def test_check_device_names_what_is_allowed(monkeypatch):
    from basiskit.recipes.runner import check_device

    assert check_device("cpu") == "cpu"
    for bad in ("gpu", "cuda:", "cuda:-1", "CPU", "cuda0"):
        with pytest.raises(basiskit.UsageError, match=rf"device must be 'cpu', 'cuda' or 'cuda:N'.*got '{bad}'"):
            check_device(bad)
    with pytest.raises(basiskit.UsageError, match=r"device must be a str"):
        check_device(0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert check_device("cuda:0") == "cuda:0"
    with pytest.raises(basiskit.UsageError, match=r"device 'cuda:3': only 1 CUDA device\(s\) present"):
        check_device("cuda:3")


def test_help_and_version_exit_0(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("basiskit ")
    assert main(["run", "--help"]) == 0
    assert "--set KEY=VALUE" in capsys.readouterr().out


def test_threads_option_sets_records_and_restores(tmp_path, capsys):
    from basiskit.recipes import run_recipe

    before = torch.get_num_threads()
    want = 1 if before != 1 else 2
    result = run_recipe("mlp-regression", quick=True, overrides={"steps": "20"}, out=tmp_path, progress=False,
                        verbose=False, threads=want)
    assert torch.get_num_threads() == before  # restored after the run
    saved = json.loads((result.run_dir / "metrics.json").read_text())
    assert saved["machine"]["threads"] == want
    # a resumed run reuses the saved count when none is given
    resumed = run_recipe("mlp-regression", resume=True, out=tmp_path, progress=False, verbose=False)
    assert json.loads((resumed.run_dir / "metrics.json").read_text())["machine"]["threads"] == want
    assert torch.get_num_threads() == before
    with pytest.raises(basiskit.UsageError, match="threads must be a whole number >= 1"):
        run_recipe("mlp-regression", quick=True, out=tmp_path, threads=0)
    assert main(["run", "mlp-regression", "--quick", "--threads", "0", "--out", str(tmp_path)]) == 2
    assert "expected a whole number >= 1, got 0" in one_line_error(capsys)


def test_recorded_command_repeats_seed_threads_and_settings():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "record_run.py"
    spec = importlib.util.spec_from_file_location("record_run", path)
    record_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(record_run)
    from basiskit.recipes.core import RECIPES, config_to_dict

    config = config_to_dict(RECIPES.get("mlp-regression").config(quick=True))
    config["steps"] = 77
    cmd = record_run.repeat_command({"recipe": "mlp-regression", "quick": True, "seed": 3, "config": config,
                                     "machine": {"threads": 2}})
    assert cmd == "basiskit run mlp-regression --quick --seed 3 --threads 2 --set steps=77"
