"""basiskit.nn.ssm: HiPPO-LegS and its NPLR form, transfer functions, PTD, kernels against the recurrence, layers."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from basiskit.nn.ssm import (
    INITS,
    SSMClassifier,
    SSMLayer,
    causal_fft_conv,
    diagonal_init,
    eigenvector_condition,
    hippo_legs,
    hippo_legs_nplr,
    ptd_perturbation,
    ssm_kernel,
    ssm_recurrence,
    transfer_function,
)


@pytest.mark.parametrize("N", [1, 2, 5, 16])
def test_hippo_legs_matches_closed_form_entrywise(N):
    A, B = hippo_legs(N)
    assert A.dtype == B.dtype == torch.float64 and A.shape == (N, N) and B.shape == (N,)
    for n in range(N):
        assert B[n] == pytest.approx(math.sqrt(2 * n + 1), rel=1e-15)
        for k in range(N):
            want = -math.sqrt(2 * n + 1) * math.sqrt(2 * k + 1) if n > k else (-(n + 1) if n == k else 0.0)
            assert A[n, k] == pytest.approx(want, rel=1e-14, abs=0.0)


@pytest.mark.parametrize("N", [1, 3, 16, 64])
def test_nplr_reconstructs_hippo(N):
    A, B = hippo_legs(N)
    lam, V, P, B2 = hippo_legs_nplr(N)
    eye = torch.eye(N, dtype=torch.complex128)
    assert torch.allclose(V.conj().T @ V, eye, atol=1e-12)                     # unitary
    assert torch.allclose(lam.real, torch.full((N,), -0.5, dtype=torch.float64), atol=1e-12)
    rebuilt = V @ torch.diag(lam) @ V.conj().T - torch.outer(P, P)
    assert (rebuilt - A).abs().max() <= 1e-12 * max(1.0, float(A.abs().max()))
    assert torch.allclose(P * math.sqrt(2.0), B) and torch.equal(B2, B)


def test_transfer_function_dense_matches_direct_solve_and_diagonal_closed_form():
    gen = torch.Generator().manual_seed(0)
    N = 7
    A = torch.randn(N, N, generator=gen, dtype=torch.float64) - 3 * torch.eye(N, dtype=torch.float64)
    B = torch.randn(N, generator=gen, dtype=torch.float64)
    C = torch.randn(N, generator=gen, dtype=torch.float64)
    omega = torch.tensor([0.0, 1e-3, 0.7, 5.0, 1e3], dtype=torch.float64)
    G = transfer_function(A, B, C, omega)
    for i, w in enumerate(omega.tolist()):
        x = torch.linalg.solve(1j * w * torch.eye(N, dtype=torch.complex128) - A.to(torch.complex128),
                               B.to(torch.complex128))
        assert abs(complex(G[i]) - complex(C.to(torch.complex128) @ x)) <= 1e-12 * max(1.0, abs(complex(G[i])))
    lam, V = torch.linalg.eig(A)
    Gd = transfer_function(lam, torch.linalg.solve(V, B.to(V.dtype)), C.to(V.dtype) @ V, omega)
    assert torch.allclose(Gd, G, rtol=1e-10, atol=1e-12)


def test_hippo_transfer_function_sherman_morrison():
    """HiPPO-LegS with C = B^T: G = 2g/(1+g) with g = P^T (s - A_N)^{-1} P; S4D's diagonal gives 2g."""
    N = 32
    A, B = hippo_legs(N)
    lam, V, P, _ = hippo_legs_nplr(N)
    omega = torch.logspace(-3, 3, 200, dtype=torch.float64)
    g = transfer_function(lam, V.conj().T @ P.to(V.dtype), P.to(V.dtype) @ V, omega)
    assert torch.allclose(transfer_function(A, B, B, omega), 2 * g / (1 + g), rtol=1e-9, atol=1e-12)
    s4d_lam, s4d_B, s4d_V = diagonal_init(N, "s4d")
    assert torch.allclose(transfer_function(s4d_lam, s4d_B, B.to(s4d_V.dtype) @ s4d_V, omega), 2 * g, rtol=1e-9)


def test_transfer_function_single_precision_stays_single():
    A, B = hippo_legs(4)
    G = transfer_function(A.float(), B.float(), B.float(), torch.tensor([1.0, 2.0]))
    assert G.dtype == torch.complex64


@pytest.mark.parametrize("N", [16, 32, 64, 100])
def test_ptd_meets_kappa_target_for_general_N(N):
    A, B = hippo_legs(N)
    _, V = torch.linalg.eig(A)
    res = ptd_perturbation(A, 1e6)
    assert res.kappa <= 1e6 < eigenvector_condition(V)
    assert eigenvector_condition(res.V) == pytest.approx(res.kappa)
    assert 0 < res.eps < 1e-3                                         # a small perturbation
    assert float(torch.linalg.matrix_norm(res.E, ord=2)) == pytest.approx(
        res.eps * float(torch.linalg.matrix_norm(A, ord=2)), rel=1e-9)
    assert bool((res.lam.real < 0).all())                             # stable
    assert torch.allclose(res.V @ torch.diag(res.lam) @ torch.linalg.inv(res.V), (A + res.E).to(res.V.dtype),
                          atol=1e-6 * float(A.abs().max()))
    # the PTD system's transfer function is close to HiPPO's; S4D's is not
    omega = torch.logspace(-3, 3, 300, dtype=torch.float64)
    exact = transfer_function(A, B, B, omega)
    err = {}
    for method in ("ptd", "s4d"):
        lam, Bt, Vm = diagonal_init(N, method)
        G = transfer_function(lam, Bt, B.to(Vm.dtype) @ Vm, omega)
        err[method] = float(torch.linalg.vector_norm(G - exact) / torch.linalg.vector_norm(exact))
    assert err["ptd"] < 1e-2
    assert err["s4d"] > 0.5


def test_ptd_returns_no_perturbation_when_already_conditioned():
    A, _ = hippo_legs(4)
    res = ptd_perturbation(A, 1e6)
    assert res.eps == 0.0 and res.evaluations == 1 and torch.count_nonzero(res.E) == 0


def test_ptd_unreachable_target_raises():
    A, _ = hippo_legs(32)
    with pytest.raises(ValueError, match="kappa_target"):
        ptd_perturbation(A, 1e2)


def test_naive_init_is_ill_conditioned():
    lam, _, V = diagonal_init(64, "legs")
    assert eigenvector_condition(V) > 1e15
    assert torch.allclose(lam.real.sort().values, -torch.arange(64, 0, -1, dtype=torch.float64), atol=1e-6)


@pytest.mark.parametrize("L", [1, 2, 17, 64])
def test_fft_convolution_equals_recurrence_float64(L):
    gen = torch.Generator().manual_seed(1)
    H, N = 3, 5
    lam = torch.complex(-torch.rand(H, N, generator=gen, dtype=torch.float64) - 0.1,
                        3 * torch.randn(H, N, generator=gen, dtype=torch.float64))
    B = torch.randn(H, N, generator=gen, dtype=torch.complex128)
    C = torch.randn(H, N, generator=gen, dtype=torch.complex128)
    log_dt = torch.log(torch.rand(H, generator=gen, dtype=torch.float64) * 0.5 + 0.01)
    u = torch.randn(2, H, L, generator=gen, dtype=torch.float64)
    y_fft = causal_fft_conv(u, ssm_kernel(lam, B, C, log_dt, L))
    y_rec = ssm_recurrence(u, lam, B, C, log_dt)
    assert torch.allclose(y_fft, y_rec, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(0, 10_000))
def test_causal_fft_conv_is_the_direct_causal_sum(L, seed):
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(2, 3, L, generator=gen, dtype=torch.float64)
    K = torch.randn(3, L, generator=gen, dtype=torch.float64)
    direct = torch.stack([(K[:, : t + 1].flip(-1) * u[..., : t + 1]).sum(-1) for t in range(L)], dim=-1)
    assert torch.allclose(causal_fft_conv(u, K), direct, rtol=1e-10, atol=1e-11)


def test_causality():
    layer = SSMLayer(4, 8, "s4d", generator=torch.Generator().manual_seed(0))
    x = torch.randn(2, 20, 4)
    y = layer(x)
    x2 = x.clone()
    x2[:, 12:] += torch.randn(2, 8, 4)
    assert torch.allclose(layer(x2)[:, :12], y[:, :12], atol=1e-6)


def test_kernel_gradcheck_float64():
    gen = torch.Generator().manual_seed(2)
    H, N, L = 2, 3, 6
    lam = torch.complex(-torch.rand(H, N, generator=gen, dtype=torch.float64) - 0.2,
                        torch.randn(H, N, generator=gen, dtype=torch.float64)).requires_grad_()
    B = torch.randn(H, N, generator=gen, dtype=torch.complex128, requires_grad=True)
    C = torch.randn(H, N, generator=gen, dtype=torch.complex128, requires_grad=True)
    log_dt = torch.full((H,), -1.0, dtype=torch.float64, requires_grad=True)
    u = torch.randn(1, H, L, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: causal_fft_conv(a[4], ssm_kernel(*a[:4], L)),
                                    (lam, B, C, log_dt, u))


@pytest.mark.parametrize("init", INITS)
def test_layer_shapes_and_stability(init):
    layer = SSMLayer(3, 16, init, generator=torch.Generator().manual_seed(0))
    y = layer(torch.randn(2, 10, 3))
    assert y.shape == (2, 10, 3) and torch.isfinite(y).all()
    assert bool((layer.eigenvalues().real < 0).all())
    assert layer.kernel(10).shape == (3, 10)
    assert "init=" in repr(layer)


@pytest.mark.parametrize("dtype, rtol", [(torch.float64, 1e-8), (torch.float32, 2e-2)])
def test_layer_realises_the_perturbed_hippo_system(dtype, rtol):
    """Channel 0 of a PTD layer is (A + E, B, C0) after the balancing similarity: recover C0 and compare
    transfer functions (float32 storage loses about kappa * 6e-8 to the modes' cancellation)."""
    gen = torch.Generator().manual_seed(3)
    layer = SSMLayer(2, 16, "ptd", generator=gen, dtype=dtype)
    assert layer.B.dtype == dtype
    A, B = hippo_legs(16)
    _, Bt0, V0 = diagonal_init(16, "ptd")
    with torch.no_grad():
        lam = layer.eigenvalues()[0].to(torch.complex128)
        Ct = torch.view_as_complex(layer.C.detach().double())[0]
        Bt = torch.view_as_complex(layer.B.detach().double())[0]
    # recover C0 from the unbalanced modal coordinates: C_t_n B_t_n = (C0 V0)_n (Bt0)_n for every mode
    C0 = torch.linalg.lstsq(V0.T, (Ct * Bt / Bt0).unsqueeze(-1)).solution.squeeze(-1)
    assert C0.imag.abs().max() < 1e-3 * C0.real.abs().max()
    omega = torch.logspace(-1, 2, 20, dtype=torch.float64)
    E = ptd_perturbation(A).E
    exact = transfer_function(A + E, B, C0.real, omega)
    G = transfer_function(lam, Bt, Ct, omega)
    err = float((G - exact).abs().max() / exact.abs().max())
    assert err < rtol


def test_classifier_trains_and_state_dict_roundtrips():
    torch.manual_seed(0)
    model = SSMClassifier(4, 3, d_model=8, n_layers=2, state_dim=8, init="ptd")
    x, y = torch.randn(16, 12, 4), torch.randint(0, 3, (16,))
    opt = torch.optim.Adam(model.param_groups(1e-2, 1e-3))
    losses = []
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in model.parameters())
    clone = SSMClassifier(4, 3, d_model=8, n_layers=2, state_dim=8, init="s4d")
    clone.load_state_dict(model.state_dict())
    assert torch.allclose(clone(x), model(x))
    groups = model.param_groups(1e-2, 1e-3)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_bad_inputs():
    with pytest.raises(ValueError, match="N"):
        hippo_legs(0)
    with pytest.raises(TypeError, match="N"):
        hippo_legs(2.5)
    with pytest.raises(ValueError, match="init.*did you mean 'ptd'"):
        SSMLayer(4, 8, init="pdt")
    with pytest.raises(ValueError, match="method"):
        diagonal_init(8, "lin")
    with pytest.raises(ValueError, match="state_dim"):
        SSMLayer(4, 0)
    A, B = hippo_legs(4)
    with pytest.raises(ValueError, match="omega"):
        transfer_function(A, B, B, torch.tensor([1.0, math.inf]))
    with pytest.raises(ValueError, match="omega"):
        transfer_function(A, B, B, torch.tensor([math.nan]))
    with pytest.raises(ValueError, match="shapes"):
        transfer_function(A, B, B[:3], torch.tensor([1.0]))
    with pytest.raises(ValueError, match="A"):
        transfer_function(A.clone().fill_(math.nan), B, B, torch.tensor([1.0]))
    with pytest.raises(ValueError, match="kappa_target"):
        ptd_perturbation(A, 0.5)
    with pytest.raises(ValueError, match="square"):
        ptd_perturbation(A[:, :3])
    with pytest.raises(ValueError, match="x"):
        SSMLayer(4, 8, "s4d")(torch.randn(2, 5, 3))
    with pytest.raises(TypeError, match="dtype"):
        SSMLayer(4, 8, "s4d", dtype=torch.float16)
    with pytest.raises(ValueError, match="dt_max"):
        SSMLayer(4, 8, "s4d", dt_min=0.1, dt_max=0.01)
