"""Argument checks that fail early and say why: each error names the argument, what was given
and what is allowed (with close matches for names). Every public entry point uses these.

``UsageError`` is the type of a caller's mistake in a name, key, type or value given from outside the
library (the command line, a recipe's ``--set``): raised where the mistake is detected, it reaches the CLI,
which prints it in one line and exits with code 2. It is a ``ValueError``, so code that catches those keeps
working.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch


class UsageError(ValueError):
    """A mistake in what the caller asked for (unknown name, bad key, value of the wrong type or out of range).

    The message is one line naming the argument, the value and what is allowed; ``basiskit`` on the command
    line prints it and exits with code 2.
    """


def close_matches(name: str, options: Iterable[str], n: int = 3) -> list[str]:
    """The entries of ``options`` closest to ``name`` (case-insensitive), best first."""
    options = list(options)
    lower = {o.lower(): o for o in options}
    hits = difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.5)
    prefix = [o for o in options if o.lower().startswith(name.lower()) and lower[o.lower()] not in hits]
    return [lower[h] for h in hits] + prefix[: max(0, n - len(hits))]


def unknown_name_message(kind: str, name: str, options: Iterable[str]) -> str:
    options = sorted(options)
    near = close_matches(name, options)
    hint = f"; did you mean {' or '.join(repr(m) for m in near)}?" if near else ""
    listing = ", ".join(options) if len(options) <= 30 else ", ".join(options[:30]) + ", ..."
    return f"unknown {kind} {name!r}{hint} (known: {listing})"


def check_choice(arg: str, value: Any, allowed: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``; else ValueError naming ``arg``."""
    if value not in allowed:
        if isinstance(value, str):
            raise ValueError(f"{arg}: {unknown_name_message('value', value, [str(a) for a in allowed])}")
        raise ValueError(f"{arg} must be one of {list(allowed)}, got {value!r}")
    return value


def check_int(arg: str, value: Any, *, min_value: int | None = None, max_value: int | None = None) -> int:
    """A whole number (bools refused) within the optional bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{arg} must be an int, got {type(value).__name__} {value!r}")
    if min_value is not None and value < min_value:
        raise ValueError(f"{arg} must be >= {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{arg} must be <= {max_value}, got {value}")
    return value


def check_float(arg: str, value: Any, *, min_value: float | None = None, max_value: float | None = None,
                strict_min: bool = False) -> float:
    """A finite real number within the optional bounds (``strict_min`` makes the lower bound exclusive)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{arg} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{arg} must be finite, got {value}")
    if min_value is not None and (value <= min_value if strict_min else value < min_value):
        raise ValueError(f"{arg} must be {'>' if strict_min else '>='} {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{arg} must be <= {max_value}, got {value}")
    return value


def check_tensor(arg: str, x: Any, *, ndim: int | Sequence[int] | None = None, min_ndim: int | None = None,
                 last_dim: int | None = None, floating: bool = True, finite: bool = False,
                 nonempty: bool = False) -> torch.Tensor:
    """Check a tensor argument's type, rank, trailing size, dtype and values; return it unchanged."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(f"{arg} must have {' or '.join(map(str, allowed))} dims, got shape {tuple(x.shape)}")
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(f"{arg} must have at least {min_ndim} dims, got shape {tuple(x.shape)}")
    if last_dim is not None and (x.ndim == 0 or x.shape[-1] != last_dim):
        raise ValueError(f"{arg} must have last dim {last_dim}, got shape {tuple(x.shape)}")
    if floating and not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"{arg} must be a floating-point tensor, got dtype {x.dtype}; convert with .float()")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{arg} must not be empty, got shape {tuple(x.shape)}")
    if finite and x.numel() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{arg} contains {bad} NaN/inf value(s), shape {tuple(x.shape)}")
    return x


def check_points(arg: str, x: Any, dim: int, *, what: str = "Cartesian points") -> torch.Tensor:
    """Points ``(..., dim)``: a tensor whose last dim is ``dim``, every coordinate finite; integer tensors are
    converted to the default float dtype. ``what`` names the coordinates in the errors ("(lon, lat)")."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{arg} must be a torch.Tensor of shape (..., {dim}) ({what}), got {type(x).__name__}")
    if x.ndim < 1 or x.shape[-1] != dim:
        raise ValueError(f"{arg} must have shape (..., {dim}) ({what}), got {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).any(-1).sum())
        raise ValueError(f"{arg} must be finite; got {bad} points with NaN or inf coordinates")
    return x


def check_widths(arg: str, widths: Any, *, min_hidden: int = 0) -> list[int]:
    """Layer widths ``[in, hidden..., out]`` of a stack: positive ints, at least ``min_hidden`` hidden ones.

    Returns them as a list of ints; raises naming ``arg`` (e.g. "widths") and the offending entry otherwise.
    """
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Iterable):
        raise TypeError(f"{arg} must be a sequence of ints [in, hidden..., out], got {type(widths).__name__}")
    widths = list(widths)
    if len(widths) < 2 + min_hidden:
        hidden = "one hidden layer" if min_hidden == 1 else f"{min_hidden} hidden layers"
        shape = "[in, out]" if min_hidden == 0 else f"[in, hidden..., out] with at least {hidden}"
        raise ValueError(f"{arg} needs at least {shape}, got {widths}")
    return [check_int(f"{arg}[{i}]", w, min_value=1) for i, w in enumerate(widths)]
