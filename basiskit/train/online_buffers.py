"""Training buffers for online learning from streaming simulations (Meyer et al. 2023, "Melissa").

Simulations produce samples faster or slower than the trainer uses them, and memory holds only ``capacity`` of
them. A buffer decides which samples stay, which leave, and when the producers must wait; the trainer draws
batches uniformly at random from whatever is stored, and only once the buffer holds ``watermark`` samples (the
start-up watermark: the first batches would otherwise come from the first few simulations only). Once the
stream has ended (``close()``), the remaining samples may be drawn below the watermark.

Policies (``BUFFERS``, by name):

- ``"firo"`` (:class:`FIROBuffer`), Melissa's first-in-random-out: a batch is drawn at random and a sample
  leaves once it has been drawn ``max_uses`` times (Melissa: once). A full buffer refuses new samples (the
  producers wait), so a sample is never evicted before it has been seen.
- ``"reservoir"`` (:class:`ReservoirBuffer`), classic reservoir sampling (Vitter's algorithm R): the n-th sample
  offered is admitted with probability ``capacity / n`` and replaces a uniformly chosen stored one, so the
  contents are a uniform sample of everything produced so far. Never blocks; samples may leave unseen.
- ``"seen-reservoir"`` (:class:`SeenReservoirBuffer`), Melissa's "reservoir": when full, a new sample replaces a
  uniformly chosen stored sample that has already been drawn at least once; while no stored sample has been
  seen, the producers wait. Samples are reused until replaced.

Every buffer counts how often each sample ever offered to it was drawn (``seen_counts()``), the figure by which
the policies differ: FIRO uses every sample exactly ``max_uses`` times, the reservoirs reuse recent and old
samples unevenly. A buffer's state (contents, counters, RNG) round-trips through ``state_dict`` so an online
run resumes exactly.
"""
from __future__ import annotations

from typing import Any

import torch

from .._validation import check_choice, check_int, check_tensor


class OnlineBuffer:
    """Base class: storage, uniform batch draws, use counters, watermark and state; subclasses set the policy.

    Args:
        capacity: the most samples held at once.
        watermark: batches are drawn only once ``len(buffer) >= watermark`` (or after ``close()``), 1..capacity.
        seed: seed of the buffer's own random generator (draws and replacements).
    """

    policy = ""

    def __init__(self, capacity: int, watermark: int, *, seed: int = 0) -> None:
        self.capacity = check_int("capacity", capacity, min_value=1)
        self.watermark = check_int("watermark", watermark, min_value=1, max_value=self.capacity)
        self.generator = torch.Generator().manual_seed(int(seed))
        self._x: list[torch.Tensor] = []
        self._y: list[torch.Tensor] = []
        self._ids: list[int] = []  # stream index of each stored sample
        self._uses: list[int] = []  # draws of each stored sample so far
        self._seen: list[int] = []  # draws of every sample ever offered, by stream index
        self.closed = False
        self.admitted = 0
        self.evicted_unseen = 0  # samples that left without ever being drawn

    # ---- contents ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    @property
    def offered(self) -> int:
        """Samples offered by the stream so far (admitted or not)."""
        return len(self._seen)

    @property
    def ids(self) -> list[int]:
        """Stream indices of the stored samples."""
        return list(self._ids)

    def ready(self) -> bool:
        """Whether a batch may be drawn: at least ``watermark`` samples, or any after the stream ended."""
        return len(self) >= self.watermark or (self.closed and len(self) > 0)

    def close(self) -> None:
        """The stream has ended: the remaining samples may be drawn below the watermark."""
        self.closed = True

    def seen_counts(self) -> torch.Tensor:
        """``(offered,)`` int64: how many times each sample offered so far was drawn (0 for one never admitted)."""
        return torch.tensor(self._seen, dtype=torch.int64)

    # ---- policy hooks -----------------------------------------------------------------------
    def can_put(self) -> bool:
        """Whether ``put`` would take a sample now (False: the producer must wait)."""
        return len(self) < self.capacity

    def _slot_for_new(self) -> int | None:
        """Index of the stored sample a new one replaces when full (None: not admitted)."""
        raise RuntimeError(f"{type(self).__name__} is full ({self.capacity} samples); check can_put() first")

    def _after_draw(self, positions: list[int]) -> None:
        """Called with the drawn positions after their use counters were incremented."""

    # ---- stream side ------------------------------------------------------------------------
    def put(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        """Offer one sample ``(x, y)`` (any shapes, the same for every sample); returns whether it was stored.

        Raises RuntimeError where the policy makes producers wait (``can_put()`` is False)."""
        check_tensor("x", x)
        check_tensor("y", y)
        if self._x and (x.shape != self._x[0].shape or y.shape != self._y[0].shape):
            raise ValueError(f"sample shapes must not change: stored x {tuple(self._x[0].shape)}, "
                             f"y {tuple(self._y[0].shape)}; got x {tuple(x.shape)}, y {tuple(y.shape)}")
        if not self.can_put():
            raise RuntimeError(f"{type(self).__name__} refuses samples now (full, {self.capacity} samples, "
                               f"policy {self.policy!r}); check can_put() first")
        index = len(self._seen)
        self._seen.append(0)
        if len(self) < self.capacity:
            slot = None
            self._x.append(x)
            self._y.append(y)
            self._ids.append(index)
            self._uses.append(0)
        else:
            slot = self._slot_for_new()
            if slot is None:
                return False
            if self._uses[slot] == 0:
                self.evicted_unseen += 1
            self._x[slot], self._y[slot], self._ids[slot], self._uses[slot] = x, y, index, 0
        self.admitted += 1
        return True

    # ---- trainer side -----------------------------------------------------------------------
    def sample(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Draw ``min(batch_size, len)`` distinct stored samples uniformly at random.

        Returns ``(x (b, ...), y (b, ...), ids (b,))``; ``ids`` are the samples' stream indices.
        """
        check_int("batch_size", batch_size, min_value=1)
        if not self.ready():
            raise RuntimeError(f"buffer below its watermark: {len(self)} < {self.watermark} samples and the stream "
                               "has not ended; check ready() first")
        b = min(batch_size, len(self))
        positions = torch.randperm(len(self), generator=self.generator)[:b].tolist()
        x = torch.stack([self._x[p] for p in positions])
        y = torch.stack([self._y[p] for p in positions])
        ids = torch.tensor([self._ids[p] for p in positions], dtype=torch.int64)
        for p in positions:
            self._uses[p] += 1
            self._seen[self._ids[p]] += 1
        self._after_draw(positions)
        return x, y, ids

    def _remove(self, positions: list[int]) -> None:
        """Drop stored samples (swap with the last, so removal is O(1) each)."""
        for p in sorted(positions, reverse=True):
            for store in (self._x, self._y, self._ids, self._uses):
                store[p] = store[-1]
                store.pop()

    # ---- state ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Contents, counters and RNG state as tensors and plain numbers (``torch.save``-able, ``weights_only``)."""
        state: dict[str, Any] = {
            "policy": self.policy, "capacity": self.capacity, "watermark": self.watermark,
            "ids": torch.tensor(self._ids, dtype=torch.int64), "uses": torch.tensor(self._uses, dtype=torch.int64),
            "seen": self.seen_counts(), "closed": self.closed, "admitted": self.admitted,
            "evicted_unseen": self.evicted_unseen, "generator": self.generator.get_state(),
        }
        if self._x:
            state["x"] = torch.stack(self._x)
            state["y"] = torch.stack(self._y)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("policy") != self.policy or state.get("capacity") != self.capacity:
            raise ValueError(f"buffer state is for policy {state.get('policy')!r}, capacity {state.get('capacity')}; "
                             f"this buffer is {self.policy!r}, capacity {self.capacity}")
        self.watermark = int(state["watermark"])
        self._ids = state["ids"].tolist()
        self._uses = state["uses"].tolist()
        self._seen = state["seen"].tolist()
        self._x = list(state["x"].unbind(0)) if "x" in state else []
        self._y = list(state["y"].unbind(0)) if "y" in state else []
        self.closed = bool(state["closed"])
        self.admitted = int(state["admitted"])
        self.evicted_unseen = int(state["evicted_unseen"])
        self.generator.set_state(state["generator"])

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(capacity={self.capacity}, watermark={self.watermark}, len={len(self)}, "
                f"offered={self.offered})")


class FIROBuffer(OnlineBuffer):
    """Melissa's first-in-random-out buffer: random batches; a sample leaves after ``max_uses`` draws; a full
    buffer makes the producers wait, so no sample leaves unseen.

    Args:
        capacity, watermark, seed: see :class:`OnlineBuffer`.
        max_uses: draws after which a sample leaves (Melissa: 1, every sample is used exactly once).
    """

    policy = "firo"

    def __init__(self, capacity: int, watermark: int, *, max_uses: int = 1, seed: int = 0) -> None:
        super().__init__(capacity, watermark, seed=seed)
        self.max_uses = check_int("max_uses", max_uses, min_value=1)

    def _after_draw(self, positions: list[int]) -> None:
        self._remove([p for p in positions if self._uses[p] >= self.max_uses])


class ReservoirBuffer(OnlineBuffer):
    """Classic reservoir sampling (Vitter's algorithm R): the n-th sample offered is admitted with probability
    ``capacity / n`` into a uniformly chosen slot, so the contents are a uniform sample of the whole stream.
    Never makes the producers wait; a sample may leave before it was drawn."""

    policy = "reservoir"

    def can_put(self) -> bool:
        return True

    def _slot_for_new(self) -> int | None:
        n = len(self._seen)  # this sample is the n-th (already counted)
        j = int(torch.randint(n, (1,), generator=self.generator))
        return j if j < self.capacity else None


class SeenReservoirBuffer(OnlineBuffer):
    """Melissa's reservoir: when full, a new sample replaces a uniformly chosen stored sample that has already
    been drawn at least once; while none has, the producers wait. Samples are reused until replaced."""

    policy = "seen-reservoir"

    def __init__(self, capacity: int, watermark: int, *, seed: int = 0) -> None:
        super().__init__(capacity, watermark, seed=seed)
        self._seen_slots: list[int] = []  # positions of stored samples drawn at least once
        self._where: dict[int, int] = {}  # position -> its index in _seen_slots

    def can_put(self) -> bool:
        return len(self) < self.capacity or bool(self._seen_slots)

    def _after_draw(self, positions: list[int]) -> None:
        for p in positions:
            if p not in self._where:
                self._where[p] = len(self._seen_slots)
                self._seen_slots.append(p)

    def _slot_for_new(self) -> int | None:
        k = int(torch.randint(len(self._seen_slots), (1,), generator=self.generator))
        slot = self._seen_slots[k]
        last = self._seen_slots.pop()  # the replaced sample is new, hence unseen: drop it from the list
        if last != slot:
            self._seen_slots[k] = last
            self._where[last] = k
        del self._where[slot]
        return slot

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "seen_slots": torch.tensor(self._seen_slots, dtype=torch.int64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._seen_slots = state["seen_slots"].tolist()
        self._where = {p: k for k, p in enumerate(self._seen_slots)}


BUFFERS: dict[str, type[OnlineBuffer]] = {"firo": FIROBuffer, "reservoir": ReservoirBuffer,
                                          "seen-reservoir": SeenReservoirBuffer}


def make_buffer(policy: str, capacity: int, watermark: int, *, seed: int = 0, **kwargs: Any) -> OnlineBuffer:
    """A buffer by policy name (``"firo"``, ``"reservoir"``, ``"seen-reservoir"``); ``kwargs`` go to its class
    (``max_uses`` for FIRO)."""
    check_choice("policy", policy, list(BUFFERS))
    return BUFFERS[policy](capacity, watermark, seed=seed, **kwargs)
