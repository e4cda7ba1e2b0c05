import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from basiskit.cli import main

ENV = {**os.environ, "BASISKIT_PROGRESS": "0", "OMP_NUM_THREADS": "1"}


def run_cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "basiskit", *args], capture_output=True, text=True, env=ENV,
                          cwd=cwd, timeout=timeout)


def test_unknown_recipe_exits_2_with_suggestion(capsys):
    assert main(["run", "mlp-regresion"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe 'mlp-regresion'; did you mean 'mlp-regression'" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_set_key_lists_valid_keys(capsys):
    assert main(["run", "mlp-regression", "--set", "stepz=3"]) == 2
    err = capsys.readouterr().err
    assert "unknown config key 'stepz'" in err and "did you mean 'steps'" in err and "valid keys:" in err


def test_bad_set_value_names_expected_type(capsys):
    assert main(["run", "mlp-regression", "--set", "steps=many"]) == 2
    assert "steps='many': expected int" in capsys.readouterr().err
    assert main(["run", "mlp-regression", "--set", "steps"]) == 2
    assert "--set expects key=value" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message for a machine without CUDA")
def test_cuda_without_cuda_says_so(capsys):
    assert main(["run", "mlp-regression", "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "CUDA is not available" in err and "Traceback" not in err


def test_unknown_bench_suite_and_empty_report(capsys, tmp_path):
    assert main(["bench", "nosuchsuite"]) == 2
    assert "unknown bench suite 'nosuchsuite'" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_list_shows_registries(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "recipes (" in out and "mlp-regression" in out and "[tour]" in out
    assert main(["list", "recipes", "--markdown"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("| #") and "mlp-regression" in table and "not yet" in table


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
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    assert "data:image/png;base64," in html and "mlp-regression" in html
    assert "## mlp-regression" in md and "learning_curve.png" in md


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
    assert "no earlier run" in capsys.readouterr().err
