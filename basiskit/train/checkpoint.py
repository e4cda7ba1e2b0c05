"""Atomic checkpoints: weights in safetensors, training state loadable with ``weights_only=True``.

Layout of a checkpoint folder::

    folder/step_000100/model.safetensors   # the module's state_dict
    folder/step_000100/state.pt            # optimizer, scheduler, RNG states, step, history
    folder/step_000100/config.json         # for models with config()/from_config(): rebuilds the model
    folder/latest                          # text file naming the newest complete step folder

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
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(_untie(weights), str(tmp / "model.safetensors"))
    describe = getattr(model, "config", None)
    if callable(describe):  # the config()/from_config() protocol: the checkpoint can rebuild its model
        kind = type(model)
        (tmp / "config.json").write_text(json.dumps({"class": f"{kind.__module__}.{kind.__qualname__}",
                                                     "config": describe()}, indent=1))
    torch.save(state, tmp / "state.pt")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _atomic_write_text(folder / "latest", final.name)
    old = sorted(p for p in folder.glob("step_*") if p.is_dir())[:-keep]
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
    return final


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
    if not (path / "model.safetensors").is_file() or not (path / "state.pt").is_file():
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
    """Load a step folder: weights into ``model`` (strict) and return the state dict (``weights_only=True``)."""
    path = Path(path)
    if model is not None:
        weights = load_file(str(path / "model.safetensors"), device=str(map_location))
        model.load_state_dict(weights, strict=True)
    return torch.load(path / "state.pt", map_location=map_location, weights_only=True)
