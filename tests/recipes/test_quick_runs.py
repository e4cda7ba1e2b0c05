"""Every registered recipe runs end to end at its quick size (slow: `make test-slow`)."""
import pytest

from basiskit.recipes import names


@pytest.mark.slow
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xdist_group(n)) for n in names()])
def test_recipe_quick_run(name, quick_run):
    run_dir, m = quick_run(name)
    assert m["claims"], f"{name} declares no claims"
    for c in m["claims"]:
        assert c["value"] is not None, f"{name}: claim {c['claim']} names a metric the recipe did not return"
    assert list(run_dir.glob("*.png")), f"{name} saved no plot"
