"""criticality: finite-width preactivation statistics of deep MLPs at and off criticality, measured over many
initialisations (Roberts, Yaida & Hanin 2022, *The Principles of Deep Learning Theory*, ch. 4-5: at criticality
the single-input kernel is preserved, and the normalised four-point vertex grows like nu * l / n with nu = 5 for
the scale-invariant class (ReLU) and nu = 2/3 for the K* = 0 class (tanh) at large depth).

For a critical ReLU network (C_W = 2, C_b = 0) the excess kurtosis of a layer-l preactivation is exactly
3[(1 + 5/n)^(l-1) - 1] (derivation in ``basiskit.kernels.criticality``), 15 (l-1)/n to first order. Here
``num_inits`` networks (1e5 at full size, 4e4 at quick size) per width n in ``widths``, depth n/4
(``depth_ratio``), are sampled at once (the exact Gram-matrix sampler; ``method="weights"`` draws the weight
matrices themselves at O(n) times the cost) and the measured kurtosis at every layer l >= 2 is compared with the
exact law (layer 1 is exactly Gaussian and is reported, not divided by zero). E[z^2] at width 128 over 32 layers
is compared with its input value, and C_W = 1.8 / 2.2 show the vanishing / exploding alternative,
E[z^2] = q0 (C_W/2)^(l-1). tanh (C_W = 1) is plotted beside the large-depth asymptote 3 * (2/3) * l / n = 2 l / n,
with no claim.

Precision: with 1e4 initialisations the standard error of the measured kurtosis is about 6 % of its value at the
deepest layers (n = 32..128), so the 15 % band is about 2.5 standard errors at each of the 56 (n, l) pairs and
such a run misses it by chance (0.21 at seed 0, 2.2 standard errors). The quick size therefore samples 4e4
(standard error ~3 %, about 20 s of CPU): seeds 0 / 1 / 2 give 0.102 / 0.064 / 0.058 (largest deviation 2.0
standard errors at seed 0). ``kurtosis_max_dev_in_se`` reports the largest deviation in standard errors; 1e5
initialisations (full size) shrink the standard error about 3x from 1e4.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from ..kernels import kernel_recursion, preactivation_statistics, relu_excess_kurtosis
from ..train import RunContext
from .core import Claim, recipe


@dataclass
class CriticalityConfig:
    widths: tuple[int, ...] = field(default=(32, 64, 128), metadata={"min": 1, "min_len": 1})
    depth_ratio: float = field(default=0.25, metadata={"gt": 0.0, "max": 1.0})
    num_inits: int = field(default=100000, metadata={"min": 100})
    input_dim: int = field(default=16, metadata={"min": 1})
    stability_width: int = field(default=128, metadata={"min": 1})
    stability_depth: int = field(default=32, metadata={"min": 2})
    off_critical: tuple[float, ...] = field(default=(1.8, 2.2), metadata={"gt": 0.0})
    tanh_width: int = field(default=64, metadata={"min": 1})
    tanh_depth: int = field(default=32, metadata={"min": 1})
    method: str = field(default="gram", metadata={"choices": ("gram", "weights")})


@recipe("criticality", paper="Roberts, Yaida & Hanin 2022, The Principles of Deep Learning Theory",
        summary="ReLU excess kurtosis 3[(1+5/n)^(l-1)-1] vs 1e5 sampled initialisations (4e4 quick); E[z^2] "
                "preserved at criticality, exploding/vanishing off it; tanh plotted",
        config=CriticalityConfig, quick={"num_inits": 40000},
        claims=[
            Claim("kurtosis_max_rel_dev", "<=", 0.15, note="max over widths 32..128 and layers 2..n/4 of "
                  "|measured / exact - 1| (book: nu = 5, kurtosis 15 (l-1)/n to first order)"),
            Claim("second_moment_max_z", "<=", 3.0, note="max over 32 layers at width 128 of |E[z^2] - q0| in "
                  "standard errors (critical ReLU preserves the kernel)"),
            Claim("subcritical_ratio", "<=", 0.2, note="E[z^2] at the last layer / q0 for C_W = 1.8; theory 0.9^31",
                  paper=0.9 ** 31, paper_setting="book's kernel recursion, (C_W / 2)^31 for ReLU"),
            Claim("supercritical_ratio", ">=", 5.0, note="E[z^2] at the last layer / q0 for C_W = 2.2; theory 1.1^31",
                  paper=1.1 ** 31, paper_setting="book's kernel recursion, (C_W / 2)^31 for ReLU"),
        ])
def run(cfg: CriticalityConfig, ctx: RunContext) -> dict:
    t0 = time.perf_counter()
    g = ctx.generator(1)
    x = torch.ones(cfg.input_dim, dtype=torch.float64)     # q0 = C_W |x|^2 / n0 = C_W
    metrics: dict[str, float] = {}
    kurt_curves, worst, worst_z = {}, 0.0, 0.0
    for width in cfg.widths:
        depth = max(2, int(round(cfg.depth_ratio * width)))
        s = preactivation_statistics(x, width, depth, "relu", 2.0, 0.0, cfg.num_inits, generator=g,
                                     method=cfg.method)
        layers = s["layer"]
        exact = relu_excess_kurtosis(width, layers)
        first = relu_excess_kurtosis(width, layers, order="first")
        dev = (s["excess_kurtosis"][1:] / exact[1:] - 1).abs()
        worst = max(worst, float(dev.max()))
        worst_z = max(worst_z, float(((s["excess_kurtosis"] - exact).abs() / s["excess_kurtosis_se"])[1:].max()))
        metrics[f"kurtosis_layer1_n{width}"] = float(s["excess_kurtosis"][0])
        metrics[f"kurtosis_last_n{width}"] = float(s["excess_kurtosis"][-1])
        metrics[f"kurtosis_exact_last_n{width}"] = float(exact[-1])
        for i, layer in enumerate(layers.tolist()):
            ctx.log(phase="relu_kurtosis", width=width, layer=layer, measured=float(s["excess_kurtosis"][i]),
                    se=float(s["excess_kurtosis_se"][i]), exact=float(exact[i]), first_order=float(first[i]))
        kurt_curves[f"n={width} measured"] = (layers[1:], s["excess_kurtosis"][1:])
        kurt_curves[f"n={width} 3[(1+5/n)^(l-1)-1]"] = (layers[1:], exact[1:])
        kurt_curves[f"n={width} 15(l-1)/n"] = (layers[1:], first[1:])
    metrics["kurtosis_max_rel_dev"] = worst
    metrics["kurtosis_max_dev_in_se"] = worst_z

    q0 = 2.0 * float(x @ x) / cfg.input_dim
    stab = preactivation_statistics(x, cfg.stability_width, cfg.stability_depth, "relu", 2.0, 0.0, cfg.num_inits,
                                    generator=g, method=cfg.method)
    metrics["second_moment_max_z"] = float(((stab["second_moment"] - q0).abs() / stab["second_moment_se"]).max())
    moment_curves = {"C_W = 2 (critical)": (stab["layer"], stab["second_moment"] / q0)}
    for c_w in cfg.off_critical:
        q_in = c_w * float(x @ x) / cfg.input_dim
        s = preactivation_statistics(x, cfg.stability_width, cfg.stability_depth, "relu", c_w, 0.0,
                                     cfg.num_inits, generator=g, method=cfg.method)
        ratio = float(s["second_moment"][-1] / q_in)
        key = "subcritical_ratio" if c_w < 2 else "supercritical_ratio"
        metrics[key] = ratio
        metrics[f"{key}_theory"] = (c_w / 2) ** (cfg.stability_depth - 1)
        moment_curves[f"C_W = {c_w:g}"] = (s["layer"], s["second_moment"] / q_in)
        moment_curves[f"C_W = {c_w:g}, infinite width"] = (
            s["layer"], kernel_recursion(cfg.stability_depth, "relu", c_w, 0.0, q_in) / q_in)

    tanh = preactivation_statistics(x, cfg.tanh_width, cfg.tanh_depth, "tanh", 1.0, 0.0, cfg.num_inits,
                                    generator=g, method=cfg.method)
    q_tanh = float(x @ x) / cfg.input_dim
    metrics["tanh_kurtosis_last"] = float(tanh["excess_kurtosis"][-1])
    metrics["tanh_asymptote_last"] = 2.0 * cfg.tanh_depth / cfg.tanh_width
    metrics["seconds"] = time.perf_counter() - t0

    ctx.plot_curves("relu_kurtosis", kurt_curves, xlabel="layer l", ylabel="excess kurtosis", logy=True)
    ctx.plot_curves("second_moment", moment_curves, xlabel="layer l", ylabel="E[z^2] / input value", logy=True)
    ctx.plot_curves("tanh", {"measured excess kurtosis": (tanh["layer"], tanh["excess_kurtosis"]),
                             "2 l / n (book, large depth)": (tanh["layer"], 2.0 * tanh["layer"] / cfg.tanh_width),
                             "K^(l) / q0 (infinite width)": (
                                 tanh["layer"], kernel_recursion(cfg.tanh_depth, "tanh", 1.0, 0.0, q_tanh) / q_tanh),
                             "E[z^2] / q0 (measured)": (tanh["layer"], tanh["second_moment"] / q_tanh)},
                    xlabel="layer l", ylabel="value", logy=True)
    return metrics
