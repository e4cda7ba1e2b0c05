"""On-disk cache for generated data sets, keyed by every parameter that made them.

Files are safetensors written atomically (temp file + rename) with a SHA-256 of the tensor bytes in the
metadata; a file that is truncated, corrupt or from other parameters is detected on load and regenerated.
The folder is ``basiskit._env.cache_dir()``: ``$BASISKIT_CACHE`` if set, else ``$XDG_CACHE_HOME/basiskit`` or
``~/.cache/basiskit``.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .._env import cache_dir

__all__ = ["cache_dir", "cache_key", "cached", "load_cached", "save_cached"]

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def cache_key(name: str, params: dict[str, Any]) -> str:
    blob = json.dumps({"name": name, "v": FORMAT_VERSION, **params}, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].contiguous().cpu()
        h.update(k.encode())
        h.update(str(tuple(t.shape)).encode() + str(t.dtype).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def load_cached(path: Path, params: dict[str, Any]) -> dict[str, torch.Tensor] | None:
    """The tensors in ``path`` if it is complete and made from ``params``; else None."""
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # any read failure means the file cannot be trusted
        log.warning("cache file %s is unreadable (%s); regenerating", path, e)
        return None
    if meta.get("params") != json.dumps(params, sort_keys=True, default=str) or meta.get("sha256") != _digest(tensors):
        log.warning("cache file %s does not match its parameters or checksum; regenerating", path)
        return None
    return tensors


def save_cached(path: Path, tensors: dict[str, torch.Tensor], params: dict[str, Any]) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.contiguous().cpu() for k, v in tensors.items()}
    meta = {"params": json.dumps(params, sort_keys=True, default=str), "sha256": _digest(tensors)}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cached(name: str, params: dict[str, Any], build: Callable[[], dict[str, torch.Tensor]],
           use_cache: bool = True) -> dict[str, torch.Tensor]:
    """``build()`` once per distinct ``params``; later calls load the cached tensors."""
    if not use_cache:
        return build()
    path = cache_dir() / f"{cache_key(name, params)}.safetensors"
    hit = load_cached(path, params)
    if hit is not None:
        return hit
    tensors = build()
    try:
        save_cached(path, tensors, params)
    except OSError as e:  # a read-only cache must not stop the run
        log.warning("could not write cache file %s: %s", path, e)
    return tensors
