import torch

from basiskit.data.cache import cache_dir, cache_key, cached


def _build(calls):
    def build():
        calls.append(1)
        return {"x": torch.arange(12.0).reshape(3, 4), "y": torch.ones(3, dtype=torch.int64)}
    return build


def test_cached_builds_once_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("BASISKIT_CACHE", str(tmp_path))
    calls = []
    a = cached("toy", {"n": 3}, _build(calls))
    b = cached("toy", {"n": 3}, _build(calls))
    assert len(calls) == 1 and torch.equal(a["x"], b["x"]) and b["y"].dtype == torch.int64
    cached("toy", {"n": 4}, _build(calls))
    assert len(calls) == 2 and cache_dir() == tmp_path


def test_corrupt_or_truncated_cache_is_regenerated(tmp_path, monkeypatch):
    monkeypatch.setenv("BASISKIT_CACHE", str(tmp_path))
    calls = []
    cached("toy", {"n": 3}, _build(calls))
    path = tmp_path / f"{cache_key('toy', {'n': 3})}.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # partial write
    out = cached("toy", {"n": 3}, _build(calls))
    assert len(calls) == 2 and out["x"].shape == (3, 4)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # flipped bit in the tensor bytes: checksum catches it
    path.write_bytes(bytes(data))
    cached("toy", {"n": 3}, _build(calls))
    assert len(calls) == 3


def test_key_depends_on_every_parameter():
    assert cache_key("d", {"a": 1, "b": 2}) == cache_key("d", {"b": 2, "a": 1})
    assert cache_key("d", {"a": 1}) != cache_key("d", {"a": 2})
    assert cache_key("d", {"a": 1}) != cache_key("e", {"a": 1})
