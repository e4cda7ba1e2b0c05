"""Local reduced-order bases: sine dissimilarity, k-medoids (own PAM, FasterPAM agreement), k-means, POD,
projection errors, the a-priori cluster rule, and bad inputs."""
import itertools
import math
import sys

import pytest
import torch

from basiskit.dynamics import rom
from basiskit.dynamics.rom import (
    assign_nearest,
    kmeans,
    kmedoids,
    local_pod,
    local_projection_error,
    pam,
    pod_basis,
    projection_error,
    select_cluster,
    sine_dissimilarity,
)


def _blobs(seed=0, per=15, k=3, spread=0.05):
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]], dtype=torch.float64)[:k]
    x = torch.cat([c + spread * torch.randn(per, 2, generator=g, dtype=torch.float64) for c in centres])
    return x, torch.arange(k).repeat_interleave(per)


def _same_partition(a, b):
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_sine_dissimilarity_closed_form():
    angles = torch.tensor([0.0, 0.3, math.pi / 2, math.pi, 2.0], dtype=torch.float64)
    u = torch.stack([angles.cos(), angles.sin()], 1) * torch.tensor([[1.0], [2.0], [0.5], [3.0], [1.0]],
                                                                      dtype=torch.float64)
    d = sine_dissimilarity(u)
    ref = (angles[:, None] - angles[None, :]).sin().abs()
    torch.testing.assert_close(d, ref, atol=1e-7, rtol=0)
    assert float(d[0, 3]) < 1e-7  # antiparallel: the same line, zero dissimilarity
    assert sine_dissimilarity(u[:2], u).shape == (2, 5)


def test_pam_finds_the_optimal_medoids_of_a_small_problem():
    x, _ = _blobs(per=4, k=3, spread=0.6)
    diss = torch.cdist(x, x)
    result = pam(diss, 3)
    best = min(float(diss[:, list(m)].min(1).values.sum()) for m in itertools.combinations(range(12), 3))
    assert result.loss == pytest.approx(best, rel=1e-12)
    assert result.method == "pam" and result.labels[result.medoids].tolist() == [0, 1, 2]


def test_pam_recovers_separated_clusters():
    x, truth = _blobs(k=4)
    result = kmedoids(torch.cdist(x, x), 4, method="pam")
    assert _same_partition(result.labels, truth)


def test_own_pam_agrees_with_fasterpam():
    pytest.importorskip("kmedoids")
    for seed in range(3):
        x, truth = _blobs(seed=seed, k=4, spread=0.3)
        diss = torch.cdist(x, x)
        ours, theirs = kmedoids(diss, 4, method="pam"), kmedoids(diss, 4, method="fasterpam", seed=seed)
        assert theirs.method == "fasterpam"
        assert ours.loss == pytest.approx(theirs.loss, rel=1e-9)
        assert _same_partition(ours.labels, theirs.labels) and _same_partition(ours.labels, truth)


def test_auto_falls_back_to_pam_without_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "kmedoids", None)  # import kmedoids -> ImportError
    x, _ = _blobs()
    assert kmedoids(torch.cdist(x, x), 3).method == "pam"
    with pytest.raises(ImportError, match=r"basiskit\[kmedoids\]"):
        kmedoids(torch.cdist(x, x), 3, method="fasterpam")


def test_kmeans_recovers_separated_clusters_and_reports_inertia():
    x, truth = _blobs(k=4)
    centres, labels, inertia = kmeans(x, 4, seed=1)
    assert _same_partition(labels, truth)
    assert inertia == pytest.approx(float(((x - centres[labels]) ** 2).sum()), rel=1e-12)


def test_pod_projection_error_and_local_bases():
    g = torch.Generator().manual_seed(0)
    modes = torch.linalg.qr(torch.randn(30, 3, generator=g, dtype=torch.float64)).Q
    u = torch.randn(20, 3, generator=g, dtype=torch.float64) @ modes.T  # snapshots in a 3-D subspace
    basis = pod_basis(u, 5)
    assert basis.shape == (30, 3)  # rank-limited
    torch.testing.assert_close(basis.T @ basis, torch.eye(3, dtype=torch.float64))
    assert float(projection_error(u, basis).max()) < 1e-12
    e1 = torch.zeros(30, dtype=torch.float64)
    e1[0] = 1.0
    v = torch.stack([e1, e1 + modes[:, 0]])
    ref = (v - (v @ modes) @ modes.T).norm(dim=1) / v.norm(dim=1)
    torch.testing.assert_close(projection_error(v, modes), ref)
    # two clusters, each on its own line: local 1-mode bases are exact, a global 1-mode basis is not
    w = torch.cat([torch.outer(torch.arange(1.0, 6.0, dtype=torch.float64), modes[:, 0]),
                   torch.outer(torch.arange(1.0, 6.0, dtype=torch.float64), modes[:, 1])])
    labels = torch.arange(2).repeat_interleave(5)
    bases = local_pod(w, labels, 1)
    assert float(local_projection_error(w, labels, bases).max()) < 1e-12
    assert float(projection_error(w, pod_basis(w, 1)).mean()) > 0.1


def test_sine_clustering_groups_scaled_copies_that_euclidean_kmeans_splits():
    g = torch.Generator().manual_seed(0)
    shapes = torch.linalg.qr(torch.randn(40, 2, generator=g, dtype=torch.float64)).Q.T  # two orthogonal shapes
    amps = torch.tensor([0.2, 0.5, 1.0, 4.0, 8.0], dtype=torch.float64)
    u = torch.cat([amps[:, None] * shapes[0], amps[:, None] * shapes[1]])
    truth = torch.arange(2).repeat_interleave(5)
    sine = kmedoids(sine_dissimilarity(u), 2, method="pam")
    assert _same_partition(sine.labels, truth)
    _, km_labels, _ = kmeans(u, 2, seed=0)
    assert not _same_partition(km_labels, truth)  # it splits by length instead
    assert torch.equal(assign_nearest(u, u[sine.medoids], "sine"), sine.labels)


def test_select_cluster_by_nearest_parameters():
    params = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 10.0], [1.0, 10.0]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1])
    # the second coordinate spans 10, the first 1: scaled, (0.9, 4) is nearest to (1, 0)
    assert select_cluster(torch.tensor([[0.9, 4.0], [0.1, 9.0]]), params, labels).tolist() == [1, 0]
    # with 3 neighbours the majority decides; a 1-1 tie goes to the nearest
    assert select_cluster([[0.4, 0.0]], params, labels, neighbors=3).tolist() == [0]
    assert select_cluster([[0.4, 0.0]], params, labels, neighbors=2).tolist() == [0]


def test_bad_inputs_are_refused():
    x, _ = _blobs()
    diss = torch.cdist(x, x)
    with pytest.raises(ValueError, match="k must be <= 45"):
        kmedoids(diss, 46)
    with pytest.raises(ValueError, match=r"square \(n, n\)"):
        kmedoids(diss[:, :10], 2)
    with pytest.raises(ValueError, match="non-negative"):
        pam(-diss, 2)
    with pytest.raises(ValueError, match="method: unknown value 'fastpam'"):
        kmedoids(diss, 2, method="fastpam")
    bad = x.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="u contains 1 NaN/inf"):
        sine_dissimilarity(bad)
    with pytest.raises(ValueError, match="zero snapshots"):
        sine_dissimilarity(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="one entry per snapshot"):
        local_pod(x, torch.zeros(3, dtype=torch.int64), 1)
    with pytest.raises(ValueError, match="cluster 1 has no snapshots"):
        local_pod(x, torch.zeros(45, dtype=torch.int64), 1, k=2)
    with pytest.raises(ValueError, match="basis must be"):
        projection_error(x, torch.eye(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="metric: unknown value 'cosine'"):
        assign_nearest(x, x[:2], "cosine")
    with pytest.raises(ValueError, match="one entry per training parameter"):
        select_cluster([[0.0]], [[0.0], [1.0]], [0])
    assert rom.__all__
