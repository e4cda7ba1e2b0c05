"""Distributed helpers: ``torchrun`` detection, process-group set-up and teardown, rank-aware reductions.

Under ``torchrun --nproc_per_node N`` the environment carries ``WORLD_SIZE``/``RANK``; ``init_from_env``
starts the process group (gloo on CPU, nccl on CUDA). Everything here is a no-op in a single process.

Teardown (``shutdown``) is a barrier, then ``destroy_process_group``, before the interpreter exits. Rank 0
usually does more work after the last collective than the others (checkpoints, ``log.csv``, plots,
``metrics.json``), so a rank that simply returned would tear its gloo connections down while a peer is still
working with the group; and a gloo backend whose worker threads are still running when the interpreter
finalizes can abort the process (SIGABRT, "terminate called without an active exception"). The barrier is
gloo's ``monitored_barrier`` with a timeout, so a rank that never arrives is named instead of hanging the
others; ``init_from_env`` also registers ``shutdown`` with ``atexit``, so a script that forgets it (or ends
in an exception) still leaves the group before interpreter finalization.
"""
from __future__ import annotations

import atexit
import os
import sys
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    return rank() == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: str) -> None:
    """Start the process group if launched by torchrun and none is running."""
    if not launched_by_torchrun() or (dist.is_available() and dist.is_initialized()):
        return
    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_shutdown_at_exit)
        _atexit_registered = True


_atexit_registered = False
SHUTDOWN_TIMEOUT_S = 600.0


def shutdown(*, wait_for_peers: bool | None = None, timeout_s: float = SHUTDOWN_TIMEOUT_S) -> None:
    """Leave the process group: wait until every rank has arrived, then destroy it. Idempotent.

    Args:
        wait_for_peers: whether to wait for the other ranks first. None (the default) waits unless an
            exception is propagating through the caller (``shutdown`` in a ``finally`` of a failing run): a
            rank that failed must not wait for peers that may be blocked in a collective waiting for it; it
            leaves, and torchrun stops the others.
        timeout_s: how long to wait for the other ranks (gloo: ``monitored_barrier``, whose error names the
            ranks that did not arrive). When the wait fails the error propagates and the group is left as it
            is: destroying a group with an operation still pending on it is what this function avoids.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if wait_for_peers is None:
        wait_for_peers = sys.exc_info()[1] is None
    if wait_for_peers and dist.get_world_size() > 1:
        if dist.get_backend() == "gloo":
            dist.monitored_barrier(timeout=timedelta(seconds=timeout_s), wait_all_ranks=True)
        else:
            device_ids = [torch.cuda.current_device()] if dist.get_backend() == "nccl" else None
            dist.barrier(device_ids=device_ids)
    dist.destroy_process_group()  # after this nothing may touch the group: is_distributed() is now False


def _shutdown_at_exit() -> None:
    # An uncaught exception has already been printed (sys.last_value is set): do not wait for peers then.
    shutdown(wait_for_peers=getattr(sys, "last_value", None) is None)


def mean_across_ranks(value: float) -> float:
    """Average a Python float over all ranks (identity in a single process)."""
    if not is_distributed():
        return float(value)
    backend = dist.get_backend()
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    t = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return float(t.item()) / dist.get_world_size()


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_to_main(obj: Any) -> list[Any] | None:
    """Every rank's ``obj`` as a list (index = rank) on rank 0, None on the others; ``[obj]`` in one process.
    A collective: every rank must call it."""
    if not is_distributed():
        return [obj]
    box: list[Any] | None = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(obj, box, dst=0)
    return box


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def broadcast_parameters(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if not is_distributed():
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)


def average_gradients(module: torch.nn.Module) -> None:
    """All-reduce and average every parameter's gradient (ranks must hold the same parameter set)."""
    if not is_distributed():
        return
    world = dist.get_world_size()
    for p in module.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
        p.grad.div_(world)
