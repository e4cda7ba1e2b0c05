import ctypes

import pytest
import torch

from basiskit.ops import native

SRC = r"""
void scale(long n, float a, const float *x, float *y, int nt) {
    #pragma omp parallel for num_threads(nt)
    for (long i = 0; i < n; i++) y[i] = a * x[i];
}
"""
SIG = {"scale": [ctypes.c_long, ctypes.c_float, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]}


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(native, "_LIBS", {})


def test_builds_runs_and_caches():
    lib = native.load("scale_test", SRC, SIG)
    assert lib is not None
    x = torch.randn(1000)
    y = torch.empty(1000)
    lib.scale(x.numel(), 3.0, native.ptr(x), native.ptr(y), 2)
    torch.testing.assert_close(y, 3 * x)
    built = list(native.kernel_dir().glob("scale_test-*.so"))
    assert len(built) == 1
    assert native.load("scale_test", SRC, SIG) is lib
    native._LIBS.clear()
    native.load("scale_test", SRC, SIG)
    assert list(native.kernel_dir().glob("scale_test-*.so")) == built  # reused, not rebuilt


def test_switched_off(monkeypatch):
    monkeypatch.setenv("BASISKIT_NATIVE", "0")
    assert native.load("scale_test", SRC, SIG) is None
    assert not native.usable(torch.zeros(2))


def test_missing_compiler_warns_and_falls_back(monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-xyz")
    with pytest.warns(RuntimeWarning, match="no-such-compiler-xyz"):
        assert native.load("scale_missing_cc", SRC, SIG) is None


def test_broken_source_warns_with_compiler_message():
    with pytest.warns(RuntimeWarning, match="native CPU kernel 'broken'"):
        assert native.load("broken", "void f( {", {"f": []}) is None


def test_usable_needs_cpu_float_of_one_dtype():
    assert native.usable(torch.zeros(2), torch.zeros(3))
    assert native.usable(torch.zeros(2, dtype=torch.float64))
    assert not native.usable(torch.zeros(2), torch.zeros(2, dtype=torch.float64))
    assert not native.usable(torch.zeros(2, dtype=torch.bfloat16))
