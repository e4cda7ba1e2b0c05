"""HLOP: Oja's subspace rule against PCA on planted covariances, projected updates that leave old subspaces' outputs
unchanged, the custom autograd function (gradcheck), GPM's exact SVD, bad inputs."""
import pytest
import torch
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from basiskit.hebbian.hlop import (
    ContinualMLP,
    GPMProjector,
    HebbianSubspace,
    ProjectedLinear,
    captured_energy_ratio,
    oja_subspace_step,
    principal_angles,
    project_out,
    projected_linear,
)


def planted(n: int, dim: int, k: int, seed: int, gap: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
    """n samples (n, dim) whose covariance has k large variances (gap..gap+1) on a random subspace and the rest
    <= 1; returns (samples, the top-k principal subspace (k, dim) of the samples' second moment)."""
    g = torch.Generator().manual_seed(seed)
    q = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64)).Q
    scales = torch.cat([gap + torch.rand(k, generator=g, dtype=torch.float64),
                        torch.rand(dim - k, generator=g, dtype=torch.float64)]).sqrt()
    x = (torch.randn(n, dim, generator=g, dtype=torch.float64) * scales) @ q.T
    assert float(principal_angles(torch.linalg.eigh(x.T @ x)[1][:, -k:].T, q[:, :k].T).max()) < 10.0   # planted
    return x, torch.linalg.eigh(x.T @ x)[1][:, -k:].T


@settings(max_examples=5, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(seed=st.integers(0, 10_000), k=st.integers(1, 4))
def test_oja_converges_to_the_top_principal_subspace(seed, k):
    x, top = planted(4000, 12, k, seed)
    sub = HebbianSubspace(12, lr=0.5).double()
    sub.add_subspace(k, torch.Generator().manual_seed(seed))
    for lr in (0.5, 0.5, 0.1, 0.02):        # a decreasing rate (Robbins-Monro) removes the batch noise
        sub.lr = lr
        for i in range(0, 4000, 50):
            sub.update(x[i:i + 50])
    assert float(principal_angles(sub.current, top).max()) < 2.0
    # Oja's rule also makes the rows orthonormal
    torch.testing.assert_close(sub.current @ sub.current.T, torch.eye(k, dtype=torch.float64), atol=0.05, rtol=0)


def test_oja_step_is_the_batch_average_and_pure():
    g = torch.Generator().manual_seed(1)
    H, F0, x = (torch.randn(n, 5, generator=g, dtype=torch.float64) for n in (2, 1, 7))
    before = H.clone()
    new = oja_subspace_step(H, x, 0.1, frozen=F0)
    assert torch.equal(H, before)
    rows = torch.cat([F0, H])
    expected = H.clone()
    for xi in x:
        y = rows @ xi
        expected += 0.1 / 7 * torch.outer(y[1:], xi - rows.T @ y)
    torch.testing.assert_close(new, expected, rtol=1e-12, atol=1e-12)


def test_new_directions_avoid_the_frozen_subspace():
    x, top = planted(4000, 10, 4, seed=3)
    sub = HebbianSubspace(10).double()

    def learn():
        for lr in (0.5, 0.5, 0.1, 0.02):
            sub.lr = lr
            for i in range(0, 4000, 50):
                sub.update(x[i:i + 50])

    sub.add_subspace(2, torch.Generator().manual_seed(0))
    learn()
    first = sub.freeze()
    sub.add_subspace(2, torch.Generator().manual_seed(1))
    learn()
    second = sub.current
    assert float((first @ second.T).abs().max()) < 0.05
    # together they span the planted top-4 subspace
    assert float(principal_angles(torch.cat([first, second]), top).max()) < 3.0
    sub.freeze()
    assert sub.basis.shape == (4, 10)


def test_project_out_is_an_orthogonal_projection():
    g = torch.Generator().manual_seed(0)
    basis = torch.linalg.qr(torch.randn(8, 3, generator=g, dtype=torch.float64)).Q.T
    x = torch.randn(4, 8, generator=g, dtype=torch.float64)
    p = project_out(x, basis)
    torch.testing.assert_close(p @ basis.T, torch.zeros(4, 3, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(project_out(p, basis), p, atol=1e-12, rtol=0)
    assert torch.equal(project_out(x, None), x)
    assert torch.equal(project_out(x, torch.zeros(0, 8, dtype=torch.float64)), x)


def test_projected_linear_gradcheck_and_weight_gradient_formula():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 6, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    basis = torch.linalg.qr(torch.randn(6, 2, generator=g, dtype=torch.float64)).Q.T
    torch.testing.assert_close(projected_linear(x, w, b, basis), torch.nn.functional.linear(x, w, b))
    # input and bias gradients are the ordinary ones: gradcheck them with the weight held fixed
    assert torch.autograd.gradcheck(lambda x_, b_: projected_linear(x_, w.detach(), b_, basis), (x, b))
    # the weight gradient is delta (x - B^T B x)^T: the gradient of the linear map of the projected input
    gy = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    (gw,) = torch.autograd.grad(projected_linear(x, w, b, basis), w, gy)
    xp = project_out(x.detach(), basis)
    torch.testing.assert_close(gw, gy.reshape(-1, 4).T @ xp.reshape(-1, 6), rtol=1e-12, atol=1e-12)
    (gw_ref,) = torch.autograd.grad(torch.nn.functional.linear(xp, w), w, gy)
    torch.testing.assert_close(gw, gw_ref, rtol=1e-12, atol=1e-12)


def test_projected_updates_leave_a_single_layer_unchanged_on_the_old_subspace():
    torch.manual_seed(0)
    layer = ProjectedLinear(10, 3).double()
    basis = torch.linalg.qr(torch.randn(10, 4, dtype=torch.float64)).Q.T
    layer.set_basis(basis)
    old = torch.randn(6, 4, dtype=torch.float64) @ basis          # inputs inside the protected subspace
    before = layer(old).detach().clone()
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    for _ in range(20):
        loss = (layer(torch.randn(16, 10, dtype=torch.float64)) - 1).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float((layer(old).detach() - before).abs().max()) < 1e-12
    assert float((layer.weight.grad).abs().max()) > 1e-3             # it did train


@pytest.mark.parametrize("spiking", [False, True])
def test_two_layer_network_keeps_old_task_outputs_with_exact_subspaces(spiking):
    torch.manual_seed(0)
    net = ContinualMLP(20, 16, 5, spiking=spiking, timesteps=3, threshold=0.3).double()
    old = torch.rand(5, 20, dtype=torch.float64)
    # exact subspaces of the old inputs of each layer (GPM with k = rank); the spiking net's second layer sees
    # spikes at every step, so its basis spans the spikes of all steps
    gpm1 = GPMProjector(20, 5).double()
    gpm1.update(old)
    if spiking:
        with torch.no_grad():
            spikes = net.lif(net.fc1(old).unsqueeze(0).expand(3, 5, 16)).reshape(-1, 16)
        rank = int(torch.linalg.matrix_rank(spikes))
        gpm2 = GPMProjector(16, rank).double()
        gpm2.update(spikes)
    else:
        gpm2 = GPMProjector(16, 5).double()
        gpm2.update(net.layer_inputs(old)[1])
    net.fc1.set_basis(gpm1.basis)
    net.fc2.set_basis(gpm2.basis)
    before = net(old).detach().clone()
    opt = torch.optim.SGD(net.parameters(), lr=0.2)
    new_x, new_y = torch.rand(32, 20, dtype=torch.float64), torch.randint(0, 5, (32,))
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(net(new_x), new_y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float((net(old).detach() - before).abs().max()) < 1e-10


def test_gpm_is_the_exact_svd():
    g = torch.Generator().manual_seed(0)
    reps = torch.randn(30, 8, generator=g, dtype=torch.float64) * torch.tensor([5, 4, 3, 1, 1, 1, 1, 1.0],
                                                                               dtype=torch.float64)
    gpm = GPMProjector(8, 2).double()
    energy = gpm.update(reps)
    _, s, vh = torch.linalg.svd(reps, full_matrices=False)
    assert float(principal_angles(gpm.basis, vh[:2]).max()) < 1e-4   # degrees; arccos resolves ~1e-6
    assert energy == pytest.approx(float(s[:2].pow(2).sum() / s.pow(2).sum()))
    gpm.update(reps)
    torch.testing.assert_close(gpm.basis @ gpm.basis.T, torch.eye(4, dtype=torch.float64), atol=1e-10, rtol=0)
    assert float(principal_angles(gpm.basis, vh[:4]).max()) < 1e-4


def test_principal_angles_closed_form():
    a = torch.tensor([[1.0, 0.0, 0.0]])
    b = torch.tensor([[1.0, 1.0, 0.0]])
    assert float(principal_angles(a, b)[0]) == pytest.approx(45.0)
    angles = principal_angles(torch.eye(3)[:2], torch.tensor([[1.0, 0, 0], [0, 0, 1.0]]))
    assert angles.tolist() == pytest.approx([0.0, 90.0])


def test_captured_energy_ratio_closed_form():
    # x^T x = diag(9, 4, 4, 1) n: the top-1 subspace holds all the best energy; e1 + e2 at 45 degrees holds
    # (9 + 4) / 2 of 9; with k = 2 the eigenvalue 4 is double, so e1 + e2 and e1 + e3 are both optimal (ratio 1)
    # while their principal angles to each other are 90 degrees: the ratio is what stays well defined.
    n = 50
    x = torch.zeros(4 * n, 4, dtype=torch.float64)
    for i, s in enumerate((3.0, 2.0, 2.0, 1.0)):
        x[i * n:(i + 1) * n, i] = s
    e = torch.eye(4, dtype=torch.float64)
    assert captured_energy_ratio(e[:1], x) == pytest.approx(1.0)
    assert captured_energy_ratio((e[0] + e[1])[None], x) == pytest.approx(6.5 / 9.0)
    assert captured_energy_ratio(e[[0, 1]], x) == pytest.approx(1.0)
    assert captured_energy_ratio(e[[0, 2]], x) == pytest.approx(1.0)
    assert float(principal_angles(e[[0, 1]], e[[0, 2]]).max()) == pytest.approx(90.0)
    assert captured_energy_ratio(e[[3]], x) == pytest.approx(1.0 / 9.0)
    # any row scale or non-orthogonal rows spanning the same space give the same figure
    assert captured_energy_ratio(torch.stack([2 * e[0], e[0] + e[1]]), x) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same number of columns"):
        captured_energy_ratio(e[:1, :3], x)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="k must be >= 1"):
        HebbianSubspace(5).add_subspace(0)
    with pytest.raises(ValueError, match="k must be <= 5"):
        HebbianSubspace(5).add_subspace(6)
    with pytest.raises(ValueError, match="lr must be > 0"):
        HebbianSubspace(5, lr=0.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        oja_subspace_step(torch.randn(2, 5), torch.randn(3, 5), -1.0)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 5\)"):
        oja_subspace_step(torch.randn(2, 5), torch.randn(3, 4), 0.1)
    with pytest.raises(ValueError, match=r"frozen must have shape \(m, 5\)"):
        oja_subspace_step(torch.randn(2, 5), torch.randn(3, 5), 0.1, frozen=torch.randn(1, 4))
    with pytest.raises(ValueError, match="normalize"):
        HebbianSubspace(5, normalize="max")
    with pytest.raises(ValueError, match="momentum"):
        HebbianSubspace(5, momentum=1.0)
    sub = HebbianSubspace(5)
    with pytest.raises(RuntimeError, match="add_subspace"):
        sub.update(torch.randn(3, 5))
    sub.add_subspace(3)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 5\)"):
        sub.update(torch.randn(3, 6))
    with pytest.raises(RuntimeError, match="freeze"):
        sub.add_subspace(1)
    sub.freeze()
    with pytest.raises(ValueError, match="k must be <= 2"):
        sub.add_subspace(3)
    with pytest.raises(ValueError, match="k must be <= 4"):
        GPMProjector(4, 5)
    gpm = GPMProjector(4, 3)
    gpm.update(torch.randn(6, 4))
    with pytest.raises(ValueError, match="do not fit"):
        gpm.update(torch.randn(6, 4))
    with pytest.raises(ValueError, match=r"reps must have shape \(batch, 4\)"):
        GPMProjector(4, 1).update(torch.randn(6, 3))
    with pytest.raises(ValueError, match=r"basis must have shape \(m, 6\)"):
        projected_linear(torch.randn(2, 6), torch.randn(3, 6), None, torch.randn(2, 5))
    with pytest.raises(ValueError, match="x must have last dim 6"):
        projected_linear(torch.randn(2, 5), torch.randn(3, 6))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 7\)"):
        ContinualMLP(7, 4, 2)(torch.randn(3, 6))
    with pytest.raises(ValueError, match="same number of columns"):
        principal_angles(torch.randn(2, 3), torch.randn(2, 4))
