"""Online surrogate training: simulations stream samples into a buffer while the model trains (Meyer et al. 2023).

Meyer, Schouler, Caulk, Ribes & Raffin, "Training deep surrogate models with large scale online learning"
(ICML 2023; the Melissa framework). A surrogate trained offline sees a fixed data set, as large as storage
allows; trained online, it sees as many simulations as can be run while it trains, through a memory buffer of
the same size (:mod:`basiskit.train.online_buffers`), and generalises better.

Pieces:

- ``simulate(params) -> (inputs (n, ...), targets (n, ...))``: one simulation for one parameter vector, ``n``
  samples (e.g. one per output time). It must be picklable (a module-level function or a ``functools.partial``
  of one), because it runs in worker processes or on Ray.
- ``parameters(index) -> params``: the parameter vector of simulation ``index``, a pure function of the index
  (:class:`UniformParameters`: uniform in a box, seeded per index), so a run is reproducible and resumable.
- A backend runs simulations: ``"process"`` (a local process pool, no extra dependency), ``"ray"`` (Ray tasks:
  a local cluster started with ``num_cpus``/``object_store_memory``, or an existing one at ``address``;
  ``pip install basiskit[dist]``), ``"serial"`` (in the trainer's process, for debugging and tests).
- :class:`SimulationStream` submits simulations (at most ``max_in_flight`` not yet consumed), hands their samples
  over in simulation order, and resubmits a simulation whose worker raised, at most ``max_retries`` times; a
  simulation that still fails is logged and skipped, the run goes on.
- :func:`train_online`: the trainer loop. Before each gradient step it admits up to ``inserts_per_step`` new
  samples (the producers' pace relative to the trainer) as far as the buffer takes them; it draws a batch only
  when the buffer is at its watermark. With ``deterministic=True`` the trainer waits for the next simulation
  in order when it needs one, so a run is a pure function of its seeds whatever the backend and the machine
  load (the recipe's claims rely on it); with ``False`` it admits only what has already arrived and trains on
  (Melissa's behaviour: the trainer never waits once above the watermark). State (model, optimizer, buffer,
  stream position) is saved atomically every ``checkpoint_every`` steps; ``resume=True`` continues from it and,
  in deterministic mode, ends exactly where an uninterrupted run would.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import torch

from .._validation import UsageError, check_choice, check_int, check_tensor
from .checkpoint import load_state, save_state
from .online_buffers import OnlineBuffer

log = logging.getLogger(__name__)

BACKENDS = ("process", "ray", "serial")
STATE_DIR = "online_state"  # state.safetensors + state.json (basiskit.train.checkpoint.save_state)


# ---- parameters ---------------------------------------------------------------------------------
class UniformParameters:
    """``params(index)``: uniform in the box ``[low, high]``, drawn from a generator seeded by ``(seed, index)``.

    Args:
        low, high: ``(d,)`` bounds (``high > low``).
        seed: base seed; simulation ``index`` gets seed ``seed * 1_000_003 + index``.
    """

    def __init__(self, low: torch.Tensor, high: torch.Tensor, *, seed: int = 0) -> None:
        self.low = check_tensor("low", torch.as_tensor(low, dtype=torch.float64), ndim=1, finite=True)
        self.high = check_tensor("high", torch.as_tensor(high, dtype=torch.float64), ndim=1, finite=True)
        if self.low.shape != self.high.shape or not bool((self.high > self.low).all()):
            raise ValueError(f"need high > low elementwise with the same shape, got low {self.low.tolist()}, "
                             f"high {self.high.tolist()}")
        self.seed = int(seed)

    def __call__(self, index: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(index))
        return self.low + (self.high - self.low) * torch.rand(self.low.shape, generator=g, dtype=torch.float64)


def _run_simulation(simulate: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                    params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """What a worker runs: one simulation, its output checked (same sample count, at least one sample)."""
    inputs, targets = simulate(params)
    if not (isinstance(inputs, torch.Tensor) and isinstance(targets, torch.Tensor)):
        raise TypeError(f"simulate must return (inputs, targets) tensors, got {type(inputs).__name__}, "
                        f"{type(targets).__name__}")
    if inputs.ndim == 0 or targets.ndim == 0 or inputs.shape[0] != targets.shape[0] or inputs.shape[0] == 0:
        raise ValueError(f"simulate must return inputs (n, ...) and targets (n, ...) with the same n >= 1, got "
                         f"{tuple(inputs.shape)} and {tuple(targets.shape)}")
    return inputs, targets


# ---- backends -----------------------------------------------------------------------------------
def require_ray() -> Any:
    """The ``ray`` module, or ImportError saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError("the 'ray' backend needs Ray: pip install basiskit[dist] (or choose backend='process')"
                          ) from exc
    return ray


class _DoneFuture:
    """A finished call, for the serial backend."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self.value, self.error = fn(*args), None
        except Exception as exc:  # noqa: BLE001 -- any failure is handed to the stream like a worker's
            self.value, self.error = None, exc


class SimulationBackend:
    """Runs ``_run_simulation(simulate, params)`` calls: ``submit`` -> handle, ``wait`` -> finished handles,
    ``result`` -> value (raises what the call raised)."""

    name = ""

    def start(self) -> None:
        pass

    def submit(self, simulate: Callable[..., Any], params: torch.Tensor) -> Any:
        raise TypeError(f"{type(self).__name__} cannot submit")

    def wait(self, handles: list[Any], timeout: float | None) -> list[Any]:
        return list(handles)

    def result(self, handle: Any) -> Any:
        raise TypeError(f"{type(self).__name__} has no results")

    def shutdown(self) -> None:
        pass

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class SerialBackend(SimulationBackend):
    """Runs each simulation at once in this process (no concurrency)."""

    name = "serial"

    def submit(self, simulate: Callable[..., Any], params: torch.Tensor) -> _DoneFuture:
        return _DoneFuture(_run_simulation, simulate, params)

    def result(self, handle: _DoneFuture) -> Any:
        if handle.error is not None:
            raise handle.error
        return handle.value


class ProcessBackend(SimulationBackend):
    """A local pool of ``n_workers`` processes (``multiprocessing`` context ``mp_context``; "spawn" starts clean
    interpreters that import the simulator's module, safe with threaded libraries such as torch)."""

    name = "process"

    def __init__(self, n_workers: int = 2, *, mp_context: str = "spawn") -> None:
        self.n_workers = check_int("n_workers", n_workers, min_value=1)
        self.mp_context = check_choice("mp_context", mp_context, ["spawn", "forkserver", "fork"])
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        if self._pool is None:
            import multiprocessing

            self._pool = ProcessPoolExecutor(self.n_workers, mp_context=multiprocessing.get_context(self.mp_context),
                                             initializer=torch.set_num_threads, initargs=(1,))

    def submit(self, simulate: Callable[..., Any], params: torch.Tensor) -> Future:
        self.start()
        try:
            return self._pool.submit(_run_simulation, simulate, params)
        except BrokenProcessPool:  # a worker died (killed, segfault): its calls failed; start a fresh pool
            log.warning("process pool broken (a worker died); starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            self.start()
            return self._pool.submit(_run_simulation, simulate, params)

    def wait(self, handles: list[Future], timeout: float | None) -> list[Future]:
        done, _ = futures_wait(handles, timeout=timeout, return_when=FIRST_COMPLETED)
        return [h for h in handles if h in done]

    def result(self, handle: Future) -> Any:
        return handle.result()

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayBackend(SimulationBackend):
    """Ray tasks, one CPU each. Joins the cluster at ``address`` (``"auto"``, ``"ray://host:10001"``, ...) or,
    without one, starts a local cluster of ``num_cpus`` CPUs (default ``n_workers``) and ``object_store_memory``
    bytes, and shuts down only a cluster it started. A Ray already initialised in this process is used as is."""

    name = "ray"

    def __init__(self, n_workers: int = 2, *, address: str | None = None, num_cpus: int | None = None,
                 object_store_memory: int | None = None) -> None:
        self.n_workers = check_int("n_workers", n_workers, min_value=1)
        if num_cpus is not None:
            check_int("num_cpus", num_cpus, min_value=1)
        if object_store_memory is not None:
            check_int("object_store_memory", object_store_memory, min_value=1)
        self.address = address or None
        self.num_cpus = num_cpus
        self.object_store_memory = object_store_memory
        self._owns_cluster = False
        self._remote: Any = None

    def start(self) -> None:
        if self._remote is not None:
            return
        ray = require_ray()
        if not ray.is_initialized():
            if self.address:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus or self.n_workers, object_store_memory=self.object_store_memory,
                         include_dashboard=False, log_to_driver=False)
            self._owns_cluster = True
        # Failures are resubmitted by SimulationStream (bounded, logged), not by Ray's own retries.
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_run_simulation)

    def submit(self, simulate: Callable[..., Any], params: torch.Tensor) -> Any:
        self.start()
        return self._remote.remote(simulate, params)

    def wait(self, handles: list[Any], timeout: float | None) -> list[Any]:
        ray = require_ray()
        ready, _ = ray.wait(list(handles), num_returns=1, timeout=timeout)
        if ready:  # collect every other finished one too
            ready, _ = ray.wait(list(handles), num_returns=len(handles), timeout=0)
        return ready

    def result(self, handle: Any) -> Any:
        return require_ray().get(handle)

    def shutdown(self) -> None:
        if self._owns_cluster:
            require_ray().shutdown()
            self._owns_cluster = False
        self._remote = None


def make_backend(name: str, n_workers: int = 2, *, ray_address: str | None = None, ray_num_cpus: int | None = None,
                 ray_object_store_memory: int | None = None, mp_context: str = "spawn") -> SimulationBackend:
    """A backend by name (``BACKENDS``); Ray options apply to ``"ray"`` only."""
    check_choice("backend", name, list(BACKENDS))
    if name == "ray":
        return RayBackend(n_workers, address=ray_address, num_cpus=ray_num_cpus,
                          object_store_memory=ray_object_store_memory)
    if name == "process":
        return ProcessBackend(n_workers, mp_context=mp_context)
    return SerialBackend()


# ---- the stream ---------------------------------------------------------------------------------
class SimulationStream:
    """Samples of simulations ``start .. n_simulations - 1`` in simulation order, produced by a backend.

    At most ``max_in_flight`` simulations are submitted or finished but not yet consumed (memory stays bounded);
    a simulation whose call raised is logged and resubmitted, at most ``max_retries`` times, then skipped.

    Args:
        simulate: ``params -> (inputs (n, ...), targets (n, ...))``, picklable.
        parameters: ``index -> params``.
        n_simulations: simulations in the whole run.
        backend: a started or unstarted :class:`SimulationBackend`.
        max_in_flight: bound on submitted-but-unconsumed simulations (default twice the backend's workers).
        max_retries: resubmissions allowed per simulation.
        start, skip: resume position: first simulation to run, and samples of it already consumed.
    """

    def __init__(self, simulate: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                 parameters: Callable[[int], torch.Tensor], n_simulations: int, backend: SimulationBackend, *,
                 max_in_flight: int | None = None, max_retries: int = 2, start: int = 0, skip: int = 0) -> None:
        if not callable(simulate) or not callable(parameters):
            raise TypeError(f"simulate and parameters must be callables, got {type(simulate).__name__} and "
                            f"{type(parameters).__name__}")
        self.simulate, self.parameters, self.backend = simulate, parameters, backend
        self.n_simulations = check_int("n_simulations", n_simulations, min_value=1)
        workers = getattr(backend, "n_workers", 1)
        self.max_in_flight = check_int("max_in_flight", max_in_flight if max_in_flight is not None else 2 * workers,
                                       min_value=1)
        self.max_retries = check_int("max_retries", max_retries, min_value=0)
        self.next_index = check_int("start", start, min_value=0, max_value=self.n_simulations)
        self.offset = check_int("skip", skip, min_value=0)
        self._next_submit = self.next_index
        self._pending: dict[Any, int] = {}  # handle -> simulation index (handles may be unhashable: use id)
        self._handles: dict[int, Any] = {}
        self._done: dict[int, tuple[torch.Tensor, torch.Tensor] | None] = {}  # None: failed for good
        self.attempts: dict[int, int] = {}
        self.failed: list[int] = []
        self.resubmitted = 0
        self.samples_produced = 0
        self.simulations_done = 0
        self.first_submit_s: float | None = None
        self.last_result_s: float | None = None

    @property
    def exhausted(self) -> bool:
        """Every sample has been handed over (or its simulation failed for good)."""
        return self.next_index >= self.n_simulations

    @property
    def position(self) -> tuple[int, int]:
        """``(simulation index, samples of it consumed)`` of the next sample: where a resumed run starts."""
        return self.next_index, self.offset

    def _submit(self, index: int) -> None:
        if self.first_submit_s is None:
            self.first_submit_s = time.perf_counter()
        handle = self.backend.submit(self.simulate, self.parameters(index))
        self._pending[id(handle)] = index
        self._handles[id(handle)] = handle

    def _top_up(self) -> None:
        while (self._next_submit < self.n_simulations
               and len(self._pending) + len(self._done) < self.max_in_flight):
            self._submit(self._next_submit)
            self._next_submit += 1

    def pump(self, block: bool, timeout: float | None = None) -> None:
        """Collect finished simulations (waiting for at least one if ``block``), resubmit failures, top up."""
        self._top_up()
        if not self._pending:
            return
        finished = self.backend.wait(list(self._handles.values()), None if block else 0)
        if block and not finished and timeout is not None:
            raise TimeoutError(f"no simulation finished within {timeout} s")
        for handle in finished:
            index = self._pending.pop(id(handle))
            del self._handles[id(handle)]
            try:
                inputs, targets = self.backend.result(handle)
            except Exception as exc:  # noqa: BLE001 -- whatever a simulation raised: log, resubmit (bounded)
                tries = self.attempts.get(index, 0) + 1
                self.attempts[index] = tries
                if tries <= self.max_retries:
                    log.warning("simulation %d failed (%s: %s); resubmitting (%d of %d)", index, type(exc).__name__,
                                exc, tries, self.max_retries)
                    self.resubmitted += 1
                    self._submit(index)
                else:
                    log.error("simulation %d failed %d times (%s: %s); skipped", index, tries, type(exc).__name__,
                              exc)
                    self.failed.append(index)
                    self._done[index] = None
                continue
            self._done[index] = (inputs, targets)
            self.simulations_done += 1
            self.samples_produced += int(inputs.shape[0])
            self.last_result_s = time.perf_counter()
        self._top_up()

    def next_sample(self, block: bool) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The next sample in order, or None if it has not arrived (``block=False``) or the stream is exhausted."""
        while not self.exhausted:
            if self.next_index not in self._done:
                self.pump(block=False)
                if self.next_index not in self._done:
                    if not block:
                        return None
                    self.pump(block=True)
                    continue
            result = self._done[self.next_index]
            if result is None or self.offset >= result[0].shape[0]:  # failed for good, or fully consumed
                del self._done[self.next_index]
                self.next_index += 1
                self.offset = 0
                continue
            sample = (result[0][self.offset], result[1][self.offset])
            self.offset += 1
            return sample
        return None

    def samples_per_s(self) -> float:
        """Samples produced per second of wall time, first submission to last result (nan before any)."""
        if self.first_submit_s is None or self.last_result_s is None or self.last_result_s <= self.first_submit_s:
            return math.nan
        return self.samples_produced / (self.last_result_s - self.first_submit_s)


def stream_throughput(simulate: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                      parameters: Callable[[int], torch.Tensor], n_simulations: int, backend: SimulationBackend,
                      *, max_in_flight: int | None = None, warmup: int | None = None) -> dict[str, float]:
    """Run ``n_simulations`` through ``backend`` with nothing consuming but the stream itself; returns
    ``{"samples_per_s", "simulations", "samples", "wall_s"}``. Not timed: the backend's start-up and ``warmup``
    simulations (default: two per worker, so that lazily started workers are up)."""
    backend.start()
    workers = getattr(backend, "n_workers", 1)
    warm = check_int("warmup", warmup if warmup is not None else 2 * workers, min_value=0)
    if warm:
        warm_stream = SimulationStream(simulate, parameters, warm, backend, max_in_flight=max(warm, 2 * workers))
        while warm_stream.next_sample(block=True) is not None:
            pass
    stream = SimulationStream(simulate, parameters, n_simulations, backend, max_in_flight=max_in_flight)
    t0 = time.perf_counter()
    while stream.next_sample(block=True) is not None:
        pass
    wall = time.perf_counter() - t0
    return {"samples_per_s": stream.samples_produced / wall if wall > 0 else math.nan,
            "simulations": float(stream.simulations_done), "samples": float(stream.samples_produced), "wall_s": wall}


# ---- the trainer --------------------------------------------------------------------------------
@dataclass
class OnlineResult:
    """What :func:`train_online` reports.

    ``seen`` is ``(offered,)``: draws of every sample offered to the buffer, by stream order;
    ``min_len_at_draw`` the smallest buffer size a batch was drawn from before the stream ended (>= watermark).
    """

    steps: int
    losses: list[float]
    seen: torch.Tensor
    samples_produced: int
    samples_offered: int
    simulations_done: int
    failed: list[int]
    resubmitted: int
    samples_per_s: float
    wall_s: float
    min_len_at_draw: int
    stopped: str
    extra: dict[str, Any] = field(default_factory=dict)


def _save_state(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` to the folder ``path`` atomically: a temporary folder, then renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_state(state, tmp)
    old = path.with_name(f".{path.name}.{os.getpid()}.old")
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def train_online(model: torch.nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 optimizer: torch.optim.Optimizer, buffer: OnlineBuffer,
                 simulate: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
                 parameters: Callable[[int], torch.Tensor], *, n_simulations: int, steps: int, batch_size: int,
                 backend: str | SimulationBackend = "process", n_workers: int = 2, inserts_per_step: int | None = None,
                 deterministic: bool = True, max_retries: int = 2, max_in_flight: int | None = None,
                 checkpoint_dir: str | Path | None = None, checkpoint_every: int = 0, resume: bool = False,
                 on_step: Callable[[int, float, OnlineBuffer], None] | None = None,
                 ray_address: str | None = None) -> OnlineResult:
    r"""Train ``model`` on samples streamed from ``n_simulations`` simulations through ``buffer``.

    Each step: admit up to ``inserts_per_step`` new samples (default ``batch_size``) while the buffer takes them;
    then, if the buffer is at its watermark, draw ``batch_size`` samples and take one optimizer step on
    ``loss_fn(model(x), y)``. Stops after ``steps`` gradient steps, or when the stream has ended and the buffer
    is empty (FIRO).

    Args:
        model, loss_fn, optimizer: the surrogate, ``loss_fn(pred, target) -> scalar``, its optimizer.
        buffer: an :class:`~basiskit.train.online_buffers.OnlineBuffer` (policy, capacity, watermark).
        simulate, parameters: see the module docstring.
        backend: ``"process"``, ``"ray"``, ``"serial"`` or a :class:`SimulationBackend` (then not shut down here).
        n_workers: workers of a backend built here.
        deterministic: wait for the next simulation in order when a sample is due (reproducible), or admit only
            what has arrived.
        max_retries: resubmissions per failed simulation.
        checkpoint_dir, checkpoint_every, resume: save state every ``checkpoint_every`` steps (and at the end) to
            ``checkpoint_dir/online_state/`` (safetensors + JSON, nothing pickled); with ``resume`` continue
            from it if it exists.
        on_step: ``on_step(step, loss, buffer)`` after each gradient step.
        ray_address: join this Ray cluster (backend ``"ray"``).

    Returns:
        :class:`OnlineResult`.
    """
    if not isinstance(buffer, OnlineBuffer):
        raise TypeError(f"buffer must be an OnlineBuffer (FIROBuffer, ReservoirBuffer, SeenReservoirBuffer), "
                        f"got {type(buffer).__name__}")
    check_int("steps", steps, min_value=1)
    check_int("batch_size", batch_size, min_value=1)
    check_int("n_simulations", n_simulations, min_value=1)
    check_int("checkpoint_every", checkpoint_every, min_value=0)
    inserts = check_int("inserts_per_step", inserts_per_step if inserts_per_step is not None else batch_size,
                        min_value=1)
    if (checkpoint_every or resume) and checkpoint_dir is None:
        raise UsageError(f"checkpoint_every={checkpoint_every}, resume={resume} need a checkpoint_dir")
    own_backend = not isinstance(backend, SimulationBackend)
    runner = make_backend(backend, n_workers, ray_address=ray_address) if own_backend else backend
    state_path = Path(checkpoint_dir) / STATE_DIR if checkpoint_dir is not None else None

    step, losses, start, skip = 0, [], 0, 0
    if resume and state_path is not None and state_path.exists():
        state = load_state(state_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        buffer.load_state_dict(state["buffer"])
        step, losses = int(state["step"]), [float(v) for v in state["losses"]]
        start, skip = int(state["stream"][0]), int(state["stream"][1])
        log.info("resuming online training at step %d, simulation %d (+%d samples)", step, start, skip)

    stream = SimulationStream(simulate, parameters, n_simulations, runner, max_in_flight=max_in_flight,
                              max_retries=max_retries, start=start, skip=skip)

    def save() -> None:
        if state_path is not None:
            _save_state(state_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                     "buffer": buffer.state_dict(), "step": step, "losses": losses,
                                     "stream": list(stream.position)})

    t0 = time.perf_counter()
    min_len = buffer.capacity + 1
    stopped = "steps"
    try:
        runner.start()
        model.train()
        while step < steps:
            admitted = 0
            while admitted < inserts and not stream.exhausted and buffer.can_put():
                sample = stream.next_sample(block=deterministic or not buffer.ready())
                if sample is None:
                    break
                buffer.put(*sample)
                admitted += 1
            if stream.exhausted and not buffer.closed:
                buffer.close()
            if not buffer.ready():
                if buffer.closed:  # nothing left to train on
                    stopped = "data"
                    break
                continue  # below the watermark: admit more first
            if not buffer.closed:
                min_len = min(min_len, len(buffer))
            x, y, _ = buffer.sample(batch_size)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"online training diverged: loss {float(loss)} at step {step}")
            loss.backward()
            optimizer.step()
            step += 1
            losses.append(float(loss.detach()))
            if on_step is not None:
                on_step(step, losses[-1], buffer)
            if checkpoint_every and step % checkpoint_every == 0:
                save()
        save()
    finally:
        if own_backend:
            runner.shutdown()
    return OnlineResult(steps=step, losses=losses, seen=buffer.seen_counts(), samples_produced=stream.samples_produced,
                        samples_offered=buffer.offered, simulations_done=stream.simulations_done,
                        failed=list(stream.failed), resubmitted=stream.resubmitted,
                        samples_per_s=stream.samples_per_s(), wall_s=time.perf_counter() - t0,
                        min_len_at_draw=min_len if min_len <= buffer.capacity else 0, stopped=stopped)
