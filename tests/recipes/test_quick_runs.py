"""Every registered recipe runs end to end at its quick size (slow: `make test-slow`)."""
import json

import pytest

from basiskit.recipes import names, run_recipe


@pytest.mark.slow
@pytest.mark.parametrize("name", names())
def test_recipe_quick_run(name, tmp_path):
    result = run_recipe(name, quick=True, out=tmp_path, progress=False, verbose=False)
    assert result.status == "ok"
    m = json.loads((result.run_dir / "metrics.json").read_text())
    assert m["claims"], f"{name} declares no claims"
    for c in m["claims"]:
        assert c["value"] is not None, f"{name}: claim {c['claim']} names a metric the recipe did not return"
    assert list(result.run_dir.glob("*.png")), f"{name} saved no plot"
