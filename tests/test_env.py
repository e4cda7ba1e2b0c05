"""basiskit._env: every BASISKIT_* switch read through one function."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from basiskit import _env

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("reader, name", [(_env.native_enabled, "BASISKIT_NATIVE"),
                                          (_env.progress_enabled, "BASISKIT_PROGRESS")])
def test_boolean_switches(monkeypatch, reader, name):
    monkeypatch.delenv(name, raising=False)
    assert reader() is True
    for off in ("0", "false", "No", " OFF "):
        monkeypatch.setenv(name, off)
        assert reader() is False
    for on in ("1", "yes", "true", ""):
        monkeypatch.setenv(name, on)
        assert reader() is True


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("BASISKIT_CACHE", str(tmp_path / "c"))
    assert _env.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("BASISKIT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _env.cache_dir() == tmp_path / "xdg" / "basiskit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _env.cache_dir() == Path.home() / ".cache" / "basiskit"


def test_readers_elsewhere_use_env(monkeypatch, tmp_path):
    from basiskit.data.cache import cache_dir
    from basiskit.ops import native
    from basiskit.train.context import RunContext

    monkeypatch.setenv("BASISKIT_CACHE", str(tmp_path))
    assert cache_dir() == tmp_path and native.kernel_dir() == tmp_path / "kernels"
    monkeypatch.setenv("BASISKIT_NATIVE", "off")
    assert native.enabled() is False
    monkeypatch.setenv("BASISKIT_PROGRESS", "off")
    assert RunContext(None, seed=0)._progress is False


def test_gpu_test_device(monkeypatch):
    monkeypatch.delenv("BASISKIT_TEST_DEVICE", raising=False)
    assert _env.gpu_test_device() == "cuda"
    monkeypatch.setenv("BASISKIT_TEST_DEVICE", "cpu")
    assert _env.gpu_test_device() == "cpu"


def test_override_sets_and_restores(monkeypatch):
    monkeypatch.setenv("BASISKIT_NATIVE", "1")
    with _env.override("BASISKIT_NATIVE", "0"):
        assert not _env.native_enabled()
    assert _env.native_enabled()
    monkeypatch.delenv("BASISKIT_NATIVE")
    with _env.override("BASISKIT_NATIVE", "0"):
        assert not _env.native_enabled()
    assert "BASISKIT_NATIVE" not in __import__("os").environ
    with pytest.raises(ValueError, match="BASISKIT_NATIV'"):
        with _env.override("BASISKIT_NATIV", "0"):
            pass
    with pytest.raises(ValueError, match="one of basiskit's switches"):
        _env.flag("BASISKIT_UNKNOWN")


def test_every_switch_in_the_package_is_documented_and_read_only_in_env():
    """Every BASISKIT_* name in the package source is one of SWITCHES, and only _env reads the environment
    for them (other modules may name them in docstrings, or set them through _env.override)."""
    names, readers = set(), []
    for path in (ROOT / "basiskit").rglob("*.py"):
        text = path.read_text()
        names |= set(re.findall(r"BASISKIT_[A-Z_]+", text))
        if path.name != "_env.py" and re.search(r"environ(\.get)?[\[(]\s*['\"]BASISKIT_", text):
            readers.append(str(path.relative_to(ROOT)))
    assert names <= set(_env.SWITCHES), names - set(_env.SWITCHES)
    assert readers == []


def test_env_imports_nothing_from_basiskit():
    code = "import sys, basiskit._env; print(sorted(m for m in sys.modules if m.startswith('basiskit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "['basiskit', 'basiskit._env']"
