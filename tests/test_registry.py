import pytest

from basiskit import UsageError
from basiskit.registry import Registry


def test_register_get_create_names():
    reg = Registry("widget")

    @reg.register("alpha", summary="first")
    def make_alpha(size=1):
        return ("alpha", size)

    reg.add("beta", lambda: "b", summary="second")
    assert reg.names() == ["alpha", "beta"]
    assert reg.create("alpha", size=3) == ("alpha", 3)
    assert reg.get("beta")() == "b"
    assert "alpha" in reg and "gamma" not in reg
    assert [e.summary for e in reg.entries()] == ["first", "second"]
    assert reg.names("al*") == ["alpha"]


def test_unknown_name_suggests_close_matches():
    reg = Registry("widget")
    reg.add("vit_tiny", object)
    reg.add("vit_small", object)
    with pytest.raises(ValueError, match=r"unknown widget 'vit_tiy'; did you mean 'vit_tiny'"):
        reg.get("vit_tiy")
    with pytest.raises(UsageError, match=r"unknown widget 'vit_smal'; did you mean 'vit_small'"):
        reg.create("vit_smal")  # a caller's mistake by name: the CLI prints it in one line, exit code 2


def test_summary_defaults_to_first_docstring_line():
    reg = Registry("widget")

    @reg.register()
    def thing():
        """Makes a thing.

        More text."""

    assert reg.entry("thing").summary == "Makes a thing."


def test_bad_names_and_duplicates():
    reg = Registry("widget")
    with pytest.raises(ValueError, match="must be letters"):
        reg.add("has space", object)
    reg.add("x", object, module="a")
    with pytest.raises(ValueError, match="already registered"):
        reg.add("x", int, module="b")
    with pytest.raises(TypeError, match="must be a str"):
        reg.get(3)


def test_library_registries_discover_their_modules():
    import basiskit.models as models
    import basiskit.recipes as recipes

    assert "mlp" in models.names()
    assert "mlp-regression" in recipes.names()
    net = models.create("mlp", widths=[2, 8, 1])
    assert sum(p.numel() for p in net.parameters()) == 2 * 8 + 8 + 8 + 1


def test_broken_module_is_reported_not_hidden(tmp_path, monkeypatch):
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text("")
    (pkg / "broken.py").write_text("raise ValueError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry("widget", ("fakepkg",))
    with pytest.raises(ImportError, match=r"could not import fakepkg.broken while listing widgets: ValueError: boom"):
        reg.names()
    with pytest.raises(ImportError):  # still not silently "discovered" with missing entries
        reg.get("anything")
