"""Distributed helpers: ``torchrun`` detection, process-group set-up and rank-aware reductions.

Under ``torchrun --nproc_per_node N`` the environment carries ``WORLD_SIZE``/``RANK``; ``init_from_env``
starts the process group (gloo on CPU, nccl on CUDA). Everything here is a no-op in a single process.
"""
from __future__ import annotations

import os
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


def shutdown() -> None:
    """Tear the process group down once every rank has arrived (gloo aborts a rank that destroys its group
    while a peer is still talking to it)."""
    if dist.is_available() and dist.is_initialized():
        if dist.get_world_size() > 1:
            dist.barrier()
        dist.destroy_process_group()


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
