import pytest
import torch

from basiskit.bench import BenchResult, compare, kept_for_backward_bytes


def test_bench_times_with_the_measure_helpers():
    """The suites time with basiskit.measure's compare (its arithmetic is tested in tests/test_measure.py)."""
    from basiskit import measure

    assert compare is measure.compare and kept_for_backward_bytes is measure.kept_for_backward_bytes


def test_kept_for_backward_bytes_counts_saved_activations():
    x = torch.randn(256, 64, requires_grad=True)
    # tanh saves its output (256*64 floats); exp saves its output as well: two distinct tensors
    nbytes = kept_for_backward_bytes(lambda: torch.exp(torch.tanh(x)).sum())
    assert nbytes == 2 * 256 * 64 * 4
    assert kept_for_backward_bytes(lambda: (x * 2).sum()) == 0  # mul by a constant saves nothing


def test_bench_result_markdown_and_targets():
    r = BenchResult("demo", ["case", "ratio"], rows=[{"case": "a", "ratio": 1.0}, {"case": "b", "ratio": 2.5}])
    r.add_target("b / a", 2.5, "<=", 3.0)
    r.add_target("b / a", 2.5, "<=", 2.0)
    md = r.to_markdown()
    assert "| b    | 2.5" in md and "yes" in md and "NO" in md
