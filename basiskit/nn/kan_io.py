"""Saving a KAN with everything needed to rebuild it: weights in safetensors, the configuration in JSON.

``save_kan(kan, folder)`` writes ``folder/model.safetensors`` (the ``state_dict``: coefficients, knots, biases, and
per layer the edge masks ``edges.L.numeric_mask`` / ``symbolic_mask`` and, where some edge is symbolic, the
constants ``edges.L.affine``) and ``folder/config.json``::

    {"format": "basiskit.KAN", "format_version": 2,
     "config": {"widths": [...], "basis": "bspline", "layers": [{"grid_size": 5, "order": 3, "bias": true}, ...],
                "base_activation": "silu", "fused": true, "boundary": "extend", "basis_kwargs": {...}, "dtype": "float32",
                "mult_nodes": [0, ..., 0], "mult_arity": 2, "input_ids": [0, 1, ...],
                "symbolic_names": null | [null | [[name or null, ...], ...] per layer]}}

``load_kan(folder)`` rebuilds the network from the configuration (widths after pruning, each layer's grid size
after refinement, bias or not, the symbolic edges by function name) and loads the weights strictly, so a pruned,
refined or symbolified KAN comes back as it was saved without the user rebuilding it by hand. ``widths`` counts
sum nodes and ``mult_nodes`` the multiplication nodes of each node layer (``KAN(widths, mult_nodes=...,
mult_arity=...)``). A symbolic function is stored by name: a user function (``register_symbolic``) must be
registered again before loading, else loading fails with an error that says so. Nothing is pickled. A file
without ``"boundary"`` was written when every B-spline layer clamped its input to the grid range, so it loads
with ``boundary="clamp"`` (same outputs as when it was saved).

Version 1 files (written before the per-edge symbolic branch) still load: they have no masks (all edges are
splines) and may hold an all-edge symbolic fit under ``"symbolic"`` (names, float64 constants and its own biases),
which is turned into symbolic edges; the layer biases then become that fit's biases. A file of another format or
version, or a configuration that does not describe the stored weights, raises ``UsageError``.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from .._validation import UsageError

FORMAT = "basiskit.KAN"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


def kan_config(kan: Any) -> dict[str, Any]:
    """The JSON-able configuration that rebuilds ``kan`` (its current widths, grids and biases)."""
    layers = []
    for layer in kan.layers:
        entry: dict[str, Any] = {"bias": layer.bias is not None}
        if hasattr(layer.basis, "grid_size"):
            entry["grid_size"] = int(layer.basis.grid_size)
        if hasattr(layer.basis, "order"):
            entry["order"] = int(layer.basis.order)
        layers.append(entry)
    first = kan.layers[0]
    return {"widths": [int(w) for w in kan.widths], "basis": first.basis_name, "layers": layers,
            "base_activation": first.base_activation, "fused": bool(first.fused),
            "spline_scale": float(first.spline_scale), "boundary": str(getattr(first, "boundary", "clamp")),
            "domain": list(getattr(kan, "domain", (-1.0, 1.0))),
            "basis_kwargs": dict(getattr(kan, "basis_kwargs", {})),
            "dtype": str(first.weight.dtype).replace("torch.", ""),
            "mult_nodes": [int(m) for m in getattr(kan, "mult_nodes", [0] * len(kan.widths))],
            "mult_arity": int(getattr(kan, "mult_arity", 2)),
            "input_ids": [int(i) for i in getattr(kan, "input_ids", range(kan.widths[0]))],
            "symbolic_names": _symbolic_names(kan)}


def _symbolic_names(kan: Any) -> list[Any] | None:
    """Per layer the table of symbolic function names (None for a layer without symbolic edges), or None."""
    edges = getattr(kan, "edges", None)
    if edges is None or not any(e.has_symbolic for e in edges):
        return None
    return [[list(r) for r in e.names] if e.has_symbolic else None for e in edges]


def _check_names_registered(names: Any, where: str) -> None:
    from .kan_symbolic import LIBRARY

    if names is None:
        return
    if not isinstance(names, list):
        raise UsageError(f"{where}: symbolic_names must be a list (one entry per layer) or null, got {names!r}")
    for l, table in enumerate(names):
        for row in table or []:
            for name in row if isinstance(row, list) else []:
                if name is not None and name != "0" and name not in LIBRARY:
                    raise UsageError(f"{where}: layer {l} has an edge fixed to the symbolic function {name!r}, which "
                                     "is not registered; register it again (basiskit.nn.kan_symbolic."
                                     "register_symbolic) before loading")


def _apply_v1_symbolic(kan: Any, data: Any, where: str) -> None:
    """Turn a version-1 all-edge symbolic fit (names, params (out, in, 4), bias per layer) into symbolic edges."""
    if data is None:
        return
    _check_names_registered([s["names"] for s in data], where)
    with torch.no_grad():
        for layer, edges, s in zip(kan.layers, kan.edges, data):
            edges.set_names(s["names"])
            edges.affine.copy_(torch.tensor(s["params"], dtype=torch.float64))
            if layer.bias is not None:
                layer.bias.copy_(torch.tensor(s["bias"], dtype=torch.float64))


def _read_json(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file() or not (folder / "model.safetensors").is_file():
        raise UsageError(f"{folder} is not a saved KAN: it needs config.json and model.safetensors")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UsageError(f"{path} is not valid JSON ({err.msg} at line {err.lineno})") from err
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else None
        raise UsageError(f"{path} is not a {FORMAT} file (format: {found!r})")
    if doc.get("format_version") not in READABLE_VERSIONS:
        raise UsageError(f"{path} has format_version {doc.get('format_version')!r}; this basiskit reads versions "
                         f"{', '.join(map(str, READABLE_VERSIONS))}")
    cfg = doc.get("config")
    needed = {"widths": list, "basis": str, "layers": list, "base_activation": str, "fused": bool, "dtype": str}
    if not isinstance(cfg, dict) or any(not isinstance(cfg.get(k), t) for k, t in needed.items()):
        raise UsageError(f"{path}: the configuration is missing or malformed; it needs "
                         f"{', '.join(f'{k} ({t.__name__})' for k, t in needed.items())}")
    if len(cfg["layers"]) != len(cfg["widths"]) - 1 or cfg["dtype"] not in _DTYPES:
        raise UsageError(f"{path}: {len(cfg['layers'])} layer entries for {len(cfg['widths'])} widths, dtype "
                         f"{cfg['dtype']!r}: the configuration does not describe a KAN")
    mult, arity = cfg.get("mult_nodes"), cfg.get("mult_arity", 2)
    if mult is not None and (not isinstance(mult, list) or len(mult) != len(cfg["widths"])
                             or any(type(m) is not int or m < 0 for m in mult)):
        raise UsageError(f"{path}: mult_nodes must list one int >= 0 per width ({len(cfg['widths'])}), got {mult!r}")
    if type(arity) is not int or arity < 2:
        raise UsageError(f"{path}: mult_arity must be an int >= 2, got {arity!r}")
    ids = cfg.get("input_ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) != cfg["widths"][0]
                            or any(type(i) is not int for i in ids)):
        raise UsageError(f"{path}: input_ids must list one int per input ({cfg['widths'][0]}), got {ids!r}")
    _check_names_registered(cfg.get("symbolic_names"), str(path))
    return doc


def kan_from_config(cfg: dict[str, Any], cls: type) -> Any:
    """A freshly initialised ``cls`` (``KAN`` or a subclass) with the architecture ``cfg`` describes
    (``kan_config``'s output). The class is passed in so that this module does not import ``kan`` (no cycle)."""
    from .kan_linear import KANLinear

    widths, layers = cfg["widths"], cfg["layers"]
    mult, arity = cfg.get("mult_nodes"), cfg.get("mult_arity", 2)
    first = layers[0]
    kw = dict(cfg.get("basis_kwargs", {}))
    dtype = _DTYPES[cfg.get("dtype", "float32")]
    kan = cls(widths, cfg["basis"], grid_size=first.get("grid_size"), order=first.get("order"),
              domain=tuple(cfg.get("domain", (-1.0, 1.0))), base_activation=cfg["base_activation"],
              bias=bool(first["bias"]), fused=cfg["fused"], spline_scale=cfg.get("spline_scale", 0.1),
              boundary=cfg.get("boundary", "clamp"), dtype=dtype, mult_nodes=mult, mult_arity=arity, **kw)
    for l, entry in enumerate(layers):
        current = kan.layers[l]
        same = (entry.get("grid_size") == getattr(current.basis, "grid_size", None)
                and bool(entry["bias"]) == (current.bias is not None))
        if same:
            continue
        layer_kw = dict(kw)
        if cfg["basis"] in ("bspline", "relu_power"):
            layer_kw.update(grid_size=entry.get("grid_size"), order=entry.get("order"),
                            domain=tuple(cfg.get("domain", (-1.0, 1.0))))
        kan.layers[l] = KANLinear(kan.node_widths[l], kan.subnode_widths[l + 1], cfg["basis"], cfg["base_activation"],
                                  bias=bool(entry["bias"]), fused=cfg["fused"],
                                  spline_scale=cfg.get("spline_scale", 0.1), boundary=cfg.get("boundary", "clamp"),
                                  dtype=dtype, **layer_kw)
    if cfg.get("input_ids") is not None:
        kan.input_ids = list(cfg["input_ids"])
    names = cfg.get("symbolic_names")
    _check_names_registered(names, "config")
    if names is not None:
        if len(names) != len(kan.edges):
            raise ValueError(f"symbolic_names must have one entry per layer ({len(kan.edges)}), got {len(names)}")
        for edges, table in zip(kan.edges, names):
            if table is not None:
                edges.set_names(table)
    return kan


def save_kan(kan: Any, folder: str | Path) -> Path:
    """Write ``kan`` to ``folder`` (created; files replaced atomically). Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": kan_config(kan)}
    try:
        text = json.dumps(doc, indent=1)
    except TypeError as err:
        raise UsageError(f"cannot save this KAN's configuration as JSON ({err}): pass basis options as numbers, "
                         "strings or lists") from err
    weights = {k: v.detach().contiguous().cpu() for k, v in kan.state_dict().items()}
    for name, payload in (("model.safetensors", None), ("config.json", text)):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        os.close(fd)
        if payload is None:
            save_file(weights, tmp)
        else:
            Path(tmp).write_text(payload)
        os.replace(tmp, folder / name)
    return folder


def load_kan(folder: str | Path, cls: type) -> Any:
    """The ``cls`` (``KAN``) saved in ``folder`` by ``save_kan``, in evaluation-ready state (same outputs bit for
    bit)."""
    folder = Path(folder)
    doc = _read_json(folder)
    try:
        kan = kan_from_config(doc["config"], cls)
    except (ValueError, TypeError) as err:
        raise UsageError(f"{folder}: the saved configuration does not build a KAN ({err})") from err
    weights = load_file(str(folder / "model.safetensors"))
    try:
        kan.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        raise UsageError(f"{folder}: the weights do not match the saved configuration ({str(err).splitlines()[0]})"
                         ) from err
    for l, layer in enumerate(kan.layers):  # a weight may take its saved shape (grids change it): check the widths
        want = (kan.subnode_widths[l + 1], kan.node_widths[l])
        if tuple(layer.weight.shape[:2]) != want:
            raise UsageError(f"{folder}: the weights do not match the saved configuration (layer {l} weight "
                             f"{tuple(layer.weight.shape)}, the widths give {want} edges)")
    try:
        for edges in kan.edges:
            edges.check_consistent()
        if doc["format_version"] == 1:
            _apply_v1_symbolic(kan, doc.get("symbolic"), str(folder))
    except (ValueError, TypeError, KeyError, RuntimeError) as err:
        raise UsageError(f"{folder}: the saved symbolic edges do not match the configuration ({err})") from err
    if any(not math.isfinite(float(v.abs().max())) for v in weights.values() if v.numel()):
        raise UsageError(f"{folder}: the saved weights hold NaN or inf")
    return kan
