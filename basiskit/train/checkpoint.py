"""Atomic checkpoints: weights and training state in safetensors plus JSON; nothing is pickled.

Layout of a checkpoint folder::

    folder/step_000100/model.safetensors   # the module's state_dict
    folder/step_000100/state.safetensors   # every tensor of the training state (optimizer moments, RNG states...)
    folder/step_000100/state.json          # the rest of the training state: numbers, strings, lists, dicts, with
                                           # {"__tensor__": "t3"} where tensor t3 of state.safetensors goes
    folder/step_000100/config.json         # for models with config()/from_config(): rebuilds the model
    folder/latest                          # text file naming the newest complete step folder

The training state (optimizer, scheduler, RNG states, step, history) is a tree of dicts, lists, tuples, numbers,
strings, None and tensors. ``state.json`` holds it with each tensor replaced by a reference; dicts whose keys are
not all strings (an optimizer's per-parameter state is keyed by int) and tuples are tagged (``{"__dict__":
[[key, value], ...]}``, ``{"__tuple__": [...]}``), so loading rebuilds exactly what was saved. Checkpoints written
by earlier versions (``state.pt``, ``torch.save``) still load, with a ``DeprecationWarning``, through
``torch.load(weights_only=True)`` (no arbitrary unpickling); nothing new is written that way.

A step folder is written under a temporary name and renamed when complete; ``latest`` is replaced
atomically afterwards. A kill at any moment therefore leaves ``latest`` naming a complete checkpoint.
"""
from __future__ import annotations

import importlib
import json
import os
import random
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .._validation import UsageError


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU and CUDA) RNG states as tensors and plain types."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [list(x) if isinstance(x, tuple) else x for x in random.getstate()],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npk = state["numpy"]
    np.random.set_state(("MT19937", npk["keys"].numpy().astype(np.uint32), npk["pos"], npk["has_gauss"],
                         npk["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_checkpoint(folder: str | Path, step: int, model: torch.nn.Module, state: dict[str, Any],
                    keep: int = 2) -> Path:
    """Write ``model`` weights and ``state`` (tensors, numbers, strings, lists, dicts) as step ``step``.

    Keeps the newest ``keep`` step folders. Returns the step folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step_{step:09d}"
    tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f".tmp_step_{step:09d}_"))
    try:
        weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_file(_untie(weights), str(tmp / "model.safetensors"))
        describe = getattr(model, "config", None)
        if callable(describe):  # the config()/from_config() protocol: the checkpoint can rebuild its model
            kind = type(model)
            (tmp / "config.json").write_text(json.dumps({"class": f"{kind.__module__}.{kind.__qualname__}",
                                                         "config": describe()}, indent=1))
        save_state(state, tmp)
    except Exception:  # a state that cannot be stored: leave no half-written folder behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _atomic_write_text(folder / "latest", final.name)
    old = sorted(p for p in folder.glob("step_*") if p.is_dir())[:-keep]
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
    return final


STATE_FORMAT = "basiskit.train_state"
STATE_VERSION = 1
_TAGS = ("__tensor__", "__tuple__", "__dict__")


def _encode(obj: Any, tensors: dict[str, torch.Tensor], where: str) -> Any:
    """JSON-able form of ``obj`` with its tensors moved into ``tensors`` (see the module docstring)."""
    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().clone().contiguous()  # a copy: safetensors refuses shared storage
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        return _encode(torch.from_numpy(obj), tensors, where)
    if isinstance(obj, (bool, int, float, str)) or obj is None:
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, tensors, f"{where}[{k}]") for k, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, tensors, f"{where}[{k}]") for k, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k in _TAGS for k in obj):
            return {k: _encode(v, tensors, f"{where}[{k!r}]") for k, v in obj.items()}
        return {"__dict__": [[_encode(k, tensors, f"{where} key"), _encode(v, tensors, f"{where}[{k!r}]")]
                             for k, v in obj.items()]}
    raise TypeError(f"training state {where} is a {type(obj).__name__}; a checkpoint stores tensors, numbers, "
                    "strings, None, lists, tuples and dicts only")


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if set(obj) == {"__tensor__"}:
            return tensors[obj["__tensor__"]]
        if set(obj) == {"__tuple__"}:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if set(obj) == {"__dict__"}:
            return {_hashable(_decode(k, tensors)): _decode(v, tensors) for k, v in obj["__dict__"]}
        return {k: _decode(v, tensors) for k, v in obj.items()}
    return obj


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def save_state(state: dict[str, Any], folder: str | Path) -> None:
    """Write a training state to ``folder/state.safetensors`` + ``folder/state.json`` (module docstring)."""
    folder = Path(folder)
    tensors: dict[str, torch.Tensor] = {}
    doc = {"format": STATE_FORMAT, "format_version": STATE_VERSION, "state": _encode(state, tensors, "state")}
    save_file(tensors, str(folder / "state.safetensors"))
    (folder / "state.json").write_text(json.dumps(doc))


def load_state(folder: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The training state saved by ``save_state`` in ``folder``; an older ``state.pt`` is read with
    ``torch.load(weights_only=True)`` and a ``DeprecationWarning``."""
    folder = Path(folder)
    path = folder / "state.json"
    if not path.is_file():
        legacy = folder / "state.pt"
        if not legacy.is_file():
            raise UsageError(f"{folder} holds no training state (state.json + state.safetensors, or an old state.pt)")
        warnings.warn(f"{legacy}: checkpoints with state.pt (torch.save) are deprecated; it is read with "
                      "weights_only=True, and saving again writes state.safetensors + state.json",
                      DeprecationWarning, stacklevel=3)
        return torch.load(legacy, map_location=map_location, weights_only=True)
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UsageError(f"{path} is not valid JSON ({err.msg} at line {err.lineno})") from err
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise UsageError(f"{path} is not a {STATE_FORMAT} file")
    if doc.get("format_version") != STATE_VERSION:
        raise UsageError(f"{path} has format_version {doc.get('format_version')!r}; this basiskit reads version "
                         f"{STATE_VERSION}")
    tensors = load_file(str(folder / "state.safetensors"), device=str(map_location))
    try:
        return _decode(doc["state"], tensors)
    except KeyError as err:
        raise UsageError(f"{path} refers to tensor {err} that state.safetensors does not hold") from err


def _untie(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors that share memory (tied weights); store independent copies.
    seen: set[int] = set()
    out = {}
    for k, v in weights.items():
        ptr = v.data_ptr()
        out[k] = v.clone() if ptr in seen and v.numel() else v
        seen.add(ptr)
    return out


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The newest complete step folder, or None if there is none."""
    folder = Path(folder)
    pointer = folder / "latest"
    if not pointer.is_file():
        return None
    path = folder / pointer.read_text().strip()
    has_state = ((path / "state.json").is_file() and (path / "state.safetensors").is_file()) or (
        path / "state.pt").is_file()
    if not (path / "model.safetensors").is_file() or not has_state:
        return None
    return path


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild the model of a checkpoint step folder (or a folder whose ``latest`` names one) from its
    ``config.json`` (written for models with ``config()`` / ``from_config()``, e.g. ``KAN``) and load its weights.

    Only classes of basiskit itself are rebuilt; anything else raises ``UsageError``."""
    path = Path(path)
    if not (path / "model.safetensors").is_file() and (found := latest_checkpoint(path)) is not None:
        path = found
    cfg_path = path / "config.json"
    if not cfg_path.is_file():
        raise UsageError(f"{path} has no config.json: its model has no config()/from_config() protocol, so build "
                         "the model yourself and use load_checkpoint(path, model)")
    doc = json.loads(cfg_path.read_text())
    qualname = doc.get("class", "")
    module_name, _, cls_name = qualname.rpartition(".")
    if not module_name.startswith("basiskit."):
        raise UsageError(f"{cfg_path}: class {qualname!r} is not a basiskit model; refusing to import it")
    cls = getattr(importlib.import_module(module_name), cls_name, None)
    if cls is None or not hasattr(cls, "from_config"):
        raise UsageError(f"{cfg_path}: {qualname!r} has no from_config")
    model = cls.from_config(doc["config"])
    load_checkpoint(path, model, map_location=map_location)
    return model


def load_checkpoint(path: str | Path, model: torch.nn.Module | None = None,
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a step folder: weights into ``model`` (strict) and return the training state (``load_state``: JSON +
    safetensors; an old ``state.pt`` with a ``DeprecationWarning``)."""
    path = Path(path)
    if model is not None:
        weights = load_file(str(path / "model.safetensors"), device=str(map_location))
        model.load_state_dict(weights, strict=True)
    return load_state(path, map_location=map_location)
