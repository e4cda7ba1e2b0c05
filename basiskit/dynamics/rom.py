r"""Local reduced-order bases from physics-informed cluster analysis (Daniel, Casenave, Akkari, Ketata & Ryckelynck
2021, "Physics-informed cluster analysis and a priori efficiency criterion for the construction of local
reduced-order bases").

A global POD basis of n modes is poor when the solution manifold is far from any n-dimensional subspace
(moving fronts, shocks: a slowly decaying Kolmogorov n-width). Splitting the snapshots into clusters and fitting
one POD basis per cluster helps only if each cluster is close to a low-dimensional *subspace*; the paper's point is
that the dissimilarity used for clustering decides this. Subspaces do not care about the length or sign of a
vector, so it clusters with the sine dissimilarity

.. math:: \delta(u, v) = \sqrt{1 - \cos^2\angle(u, v)}, \qquad \cos\angle(u, v) = \frac{\langle u, v\rangle}
          {\|u\|\,\|v\|},

(the distance from :math:`u/\|u\|` to the line through :math:`v`), with k-medoids on the precomputed
dissimilarity matrix (k-means needs a Euclidean mean, which has no meaning here). Euclidean k-means is the
classic baseline.

Contents: ``sine_dissimilarity``; ``kmedoids`` (FasterPAM from the ``kmedoids`` package when installed, the
optional extra ``basiskit[kmedoids]``, else the small exact-swap PAM below, ``pam``); ``kmeans`` (Lloyd with
k-means++ seeding, the baseline); ``pod_basis``/``local_pod`` (uncentred POD by SVD, as a Galerkin ROM uses);
``projection_error``; ``assign_nearest`` (a snapshot's cluster from the medoids or centroids, known after solving);
``select_cluster`` (the a-priori rule: a new parameter's cluster from its nearest training parameters, known
before solving, the role of ROM-net's classifier).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .._validation import check_choice, check_int, check_tensor

_F64 = torch.float64


def _snapshots(arg: str, u: Any) -> torch.Tensor:
    """(n, n_x) float64 snapshots (one per row), finite and non-zero."""
    if not isinstance(u, torch.Tensor):
        u = torch.as_tensor(u)
    check_tensor(arg, u, ndim=2, finite=True, nonempty=True)
    u = u.to(_F64)
    zero = (u.norm(dim=1) == 0).nonzero().reshape(-1)
    if zero.numel():
        raise ValueError(f"{arg} has zero snapshots (rows {zero[:5].tolist()}): their angle is undefined")
    return u


def sine_dissimilarity(u: Any, v: Any = None) -> torch.Tensor:
    r""":math:`\delta(u_i, v_j) = \sqrt{1 - \cos^2\angle(u_i, v_j)}` for snapshots ``u`` (n, n_x) and ``v``
    (m, n_x) (default ``u``): (n, m) float64 in [0, 1], 0 for parallel or antiparallel snapshots."""
    u = _snapshots("u", u)
    v = u if v is None else _snapshots("v", v)
    if v.shape[1] != u.shape[1]:
        raise ValueError(f"u and v must have the same number of grid values, got {u.shape[1]} and {v.shape[1]}")
    cos = (u / u.norm(dim=1, keepdim=True)) @ (v / v.norm(dim=1, keepdim=True)).T
    return (1 - cos.clamp(-1, 1) ** 2).clamp_min(0).sqrt()


@dataclass
class KMedoidsResult:
    """medoids (k,) int64 indices into the data, labels (n,) int64 in 0..k-1 (label i = medoids[i]), loss = sum of
    each point's dissimilarity to its medoid, method used ("fasterpam" or "pam")."""

    medoids: torch.Tensor
    labels: torch.Tensor
    loss: float
    method: str


def _check_dissimilarity(diss: Any, k: int) -> torch.Tensor:
    if not isinstance(diss, torch.Tensor):
        diss = torch.as_tensor(diss)
    check_tensor("diss", diss, ndim=2, finite=True, nonempty=True)
    diss = diss.to(_F64)
    n = diss.shape[0]
    if diss.shape[1] != n:
        raise ValueError(f"diss must be a square (n, n) dissimilarity matrix, got shape {tuple(diss.shape)}")
    if bool((diss < 0).any()):
        raise ValueError("diss must be non-negative")
    check_int("k", k, min_value=1, max_value=n)
    return diss


def _labels_loss(diss: torch.Tensor, medoids: torch.Tensor) -> tuple[torch.Tensor, float]:
    d = diss[:, medoids]
    labels = d.argmin(1)
    labels[medoids] = torch.arange(medoids.numel())  # a medoid belongs to itself even at zero-distance ties
    return labels, float(d.gather(1, labels[:, None]).sum())


def pam(diss: Any, k: int, *, max_iter: int = 100) -> KMedoidsResult:
    """Partitioning Around Medoids (Kaufman & Rousseeuw): greedy BUILD, then the best single swap of a medoid with a
    non-medoid while it lowers the loss, on a precomputed (n, n) dissimilarity matrix. O(n^2 k) per swap, fine
    for the few thousand snapshots of a ROM training set; deterministic (ties go to the lowest index)."""
    diss = _check_dissimilarity(diss, k)
    check_int("max_iter", max_iter, min_value=0)
    n = diss.shape[0]
    medoids = [int(diss.sum(0).argmin())]
    nearest = diss[:, medoids[0]].clone()
    while len(medoids) < k:
        gain = (nearest[:, None] - diss).clamp_min(0).sum(0)
        gain[medoids] = -1.0
        best = int(gain.argmax())
        medoids.append(best)
        nearest = torch.minimum(nearest, diss[:, best])
    med = torch.tensor(medoids, dtype=torch.int64)
    for _ in range(max_iter):
        d = diss[:, med]  # (n, k)
        if k > 1:
            two = d.topk(2, dim=1, largest=False)
            d1, d2, near = two.values[:, 0], two.values[:, 1], two.indices[:, 0]
        else:
            d1, near = d[:, 0], torch.zeros(n, dtype=torch.int64)
            d2 = torch.full_like(d1, float("inf"))
        keep_other = torch.minimum(diss, d1[:, None])  # point keeps its medoid unless the candidate is closer
        lose_own = torch.minimum(diss, d2[:, None])  # point's medoid removed: second-nearest or the candidate
        onehot = torch.nn.functional.one_hot(near, k).to(_F64)  # (n, k)
        delta = keep_other.sum(0)[None, :] - d1.sum() + onehot.T @ (lose_own - keep_other)  # (k, n)
        delta[:, med] = float("inf")
        flat = int(delta.argmin())
        slot, cand = divmod(flat, n)
        if not float(delta[slot, cand]) < -1e-12 * max(1.0, float(d1.sum())):
            break
        med = med.clone()
        med[slot] = cand
    labels, loss = _labels_loss(diss, med)
    return KMedoidsResult(med, labels, loss, "pam")


def kmedoids(diss: Any, k: int, *, method: str = "auto", seed: int = 0, max_iter: int = 100) -> KMedoidsResult:
    """k-medoids on a precomputed (n, n) dissimilarity: ``method`` "fasterpam" (the ``kmedoids`` package,
    optional extra), "pam" (``pam`` here) or "auto" (FasterPAM when the package is installed, else PAM)."""
    check_choice("method", method, ("auto", "fasterpam", "pam"))
    diss = _check_dissimilarity(diss, k)
    if method == "auto":
        try:
            import kmedoids as _km  # noqa: F401
            method = "fasterpam"
        except ImportError:
            method = "pam"
    if method == "pam":
        return pam(diss, k, max_iter=max_iter)
    try:
        import kmedoids as km
    except ImportError:
        raise ImportError("method='fasterpam' needs the kmedoids package: pip install 'basiskit[kmedoids]' "
                          "(or use method='pam')") from None
    result = km.fasterpam(diss.numpy(), k, max_iter=max_iter, init="build", random_state=seed, n_cpu=1)
    med = torch.as_tensor(result.medoids, dtype=torch.int64)
    labels, loss = _labels_loss(diss, med)
    return KMedoidsResult(med, labels, loss, "fasterpam")


def kmeans(x: Any, k: int, *, n_init: int = 10, max_iter: int = 300, seed: int = 0,
           ) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Euclidean k-means (Lloyd's iterations from k-means++ seeds, best of ``n_init`` by inertia) on rows of ``x``
    (n, n_x): (centres (k, n_x), labels (n,), inertia = sum of squared distances to the centres)."""
    x = _snapshots("x", x)
    n = x.shape[0]
    check_int("k", k, min_value=1, max_value=n)
    check_int("n_init", n_init, min_value=1)
    check_int("max_iter", max_iter, min_value=1)
    g = torch.Generator().manual_seed(seed)
    best: tuple[torch.Tensor, torch.Tensor, float] | None = None
    for _ in range(n_init):
        centres = x[torch.randint(n, (1,), generator=g)]
        for _ in range(1, k):  # k-means++: next centre with probability ~ squared distance
            d2 = torch.cdist(x, centres).min(1).values ** 2
            prob = d2 / d2.sum() if float(d2.sum()) > 0 else torch.full_like(d2, 1.0 / n)
            centres = torch.cat([centres, x[torch.multinomial(prob, 1, generator=g)]])
        labels = torch.cdist(x, centres).argmin(1)
        for _ in range(max_iter):
            new = centres.clone()
            for j in range(k):
                members = labels == j
                if bool(members.any()):
                    new[j] = x[members].mean(0)
            new_labels = torch.cdist(x, new).argmin(1)
            centres = new
            if bool((new_labels == labels).all()):
                break
            labels = new_labels
        inertia = float((torch.cdist(x, centres).min(1).values ** 2).sum())
        if best is None or inertia < best[2]:
            best = (centres, labels, inertia)
    return best  # type: ignore[return-value]


def pod_basis(u: Any, n_modes: int) -> torch.Tensor:
    """Uncentred POD: the first ``n_modes`` left singular vectors of the snapshot matrix ``u.T``, (n_x, n_modes)
    orthonormal columns (fewer if the snapshots span fewer directions)."""
    u = _snapshots("u", u)
    check_int("n_modes", n_modes, min_value=1)
    vecs, s, _ = torch.linalg.svd(u.T, full_matrices=False)
    rank = int((s > 1e-12 * s[0]).sum())
    return vecs[:, : min(n_modes, rank)]


def local_pod(u: Any, labels: Any, n_modes: int, k: int | None = None) -> list[torch.Tensor]:
    """One POD basis (n_x, <= n_modes) per cluster label 0..k-1 of the snapshots ``u`` (n, n_x)."""
    u = _snapshots("u", u)
    labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    if labels.numel() != u.shape[0]:
        raise ValueError(f"labels must have one entry per snapshot ({u.shape[0]}), got {labels.numel()}")
    k = int(labels.max()) + 1 if k is None else check_int("k", k, min_value=1)
    bases = []
    for j in range(k):
        members = u[labels == j]
        if members.shape[0] == 0:
            raise ValueError(f"cluster {j} has no snapshots")
        bases.append(pod_basis(members, n_modes))
    return bases


def projection_error(u: Any, basis: torch.Tensor) -> torch.Tensor:
    r"""Relative projection error :math:`\|u - VV^Tu\| / \|u\|` of each snapshot (n, n_x) onto the orthonormal
    columns of ``basis`` (n_x, r): (n,)."""
    u = _snapshots("u", u)
    v = basis.to(_F64)
    if v.ndim != 2 or v.shape[0] != u.shape[1]:
        raise ValueError(f"basis must be (n_x={u.shape[1]}, r), got shape {tuple(v.shape)}")
    return (u - (u @ v) @ v.T).norm(dim=1) / u.norm(dim=1)


def local_projection_error(u: Any, labels: Any, bases: list[torch.Tensor]) -> torch.Tensor:
    """Relative projection error of each snapshot onto the basis of its label, (n,)."""
    u = _snapshots("u", u)
    labels = torch.as_tensor(labels, dtype=torch.int64).reshape(-1)
    err = torch.empty(u.shape[0], dtype=_F64)
    for j, basis in enumerate(bases):
        members = labels == j
        if bool(members.any()):
            err[members] = projection_error(u[members], basis)
    return err


def assign_nearest(u: Any, references: Any, metric: str = "sine") -> torch.Tensor:
    """Label of the nearest reference snapshot (medoids or centroids, (k, n_x)) for each row of ``u`` (n, n_x),
    by the sine dissimilarity or the Euclidean distance: (n,) int64."""
    check_choice("metric", metric, ("sine", "euclidean"))
    u, ref = _snapshots("u", u), _snapshots("references", references)
    if metric == "sine":
        return sine_dissimilarity(u, ref).argmin(1)
    return torch.cdist(u, ref).argmin(1)


def select_cluster(params_new: Any, params_train: Any, labels_train: Any, *, neighbors: int = 1) -> torch.Tensor:
    """The a-priori rule: the cluster of a new parameter, before its solution is known, as the majority label of its
    ``neighbors`` nearest training parameters (coordinates scaled by the training range; ties to the nearest).

    params_new (m, p), params_train (n, p), labels_train (n,) -> (m,) int64.
    """
    new = torch.as_tensor(params_new, dtype=_F64)
    train = torch.as_tensor(params_train, dtype=_F64)
    new, train = (new[:, None] if new.ndim == 1 else new), (train[:, None] if train.ndim == 1 else train)
    check_tensor("params_new", new, ndim=2, finite=True, nonempty=True)
    check_tensor("params_train", train, ndim=2, finite=True, nonempty=True)
    if new.shape[1] != train.shape[1]:
        raise ValueError(f"params_new has {new.shape[1]} parameters per row, params_train {train.shape[1]}")
    labels = torch.as_tensor(labels_train, dtype=torch.int64).reshape(-1)
    if labels.numel() != train.shape[0]:
        raise ValueError(f"labels_train must have one entry per training parameter ({train.shape[0]})")
    check_int("neighbors", neighbors, min_value=1, max_value=train.shape[0])
    span = (train.max(0).values - train.min(0).values).clamp_min(1e-12)
    dist = torch.cdist(new / span, train / span)
    order = dist.argsort(dim=1, stable=True)[:, :neighbors]
    votes = labels[order]  # (m, neighbors), nearest first
    k = int(labels.max()) + 1
    counts = torch.nn.functional.one_hot(votes, k).sum(1).to(_F64)
    # ties broken toward the label of the nearest neighbour holding the top count
    rank_bonus = torch.nn.functional.one_hot(votes[:, 0], k).to(_F64) * 0.5
    return (counts + rank_bonus).argmax(1)


__all__ = ["KMedoidsResult", "assign_nearest", "kmeans", "kmedoids", "local_pod", "local_projection_error", "pam",
           "pod_basis", "projection_error", "select_cluster", "sine_dissimilarity"]
