"""The papers basiskit implements, with the recipes that reproduce them.

Used to generate the README's paper table: a paper's status is "not yet" until a recipe for it is
registered, then "met" / "not met" from the newest run folder of each of its recipes ("not run" if none).
A paper whose work lives somewhere other than a recipe says where in its ``where`` field (e.g. a bench suite),
and the table shows that instead.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple


class Paper(NamedTuple):
    """One row of the paper table: ``recipes`` reproduce it; ``where`` names what covers it when no recipe
    does (e.g. "bench `grkan`"), shown as its status."""

    id: str
    title: str
    family: str
    recipes: tuple[str, ...]
    where: str = ""


PAPERS: list[Paper] = [
    Paper("0a", "KAN: Kolmogorov-Arnold Networks (Liu et al. 2024)", "KAN", ("kan-fit", "kan-symbolic", "kan-scaling", "kan-discovery")),
    Paper("0b", "Fourier Neural Operator (Li et al. 2020)", "operators", ("fno-burgers", "fno-darcy")),
    Paper("0c", "PINN and spectral-bias remedies (Fourier features, SIREN)", "physics", ("pinn-remedies",)),
    Paper("0d", "Spherical Fourier Neural Operators (Bonev et al. 2023)", "operators", ("sfno",)),
    Paper("0e", "U-NO: U-shaped Neural Operators (Rahman et al. 2023)", "operators", ("uno",)),
    Paper("1", "Kolmogorov-Arnold Attention (KArAt, Fourier-KArAt)", "KAN", ("karat",)),
    Paper("2", "AF-KAN: activation-function-based KANs", "KAN", ("afkan",)),
    Paper("3", "GP-HM: Gaussian processes for high-frequency, multi-scale PDEs", "physics", ("gp-hm",)),
    Paper("4", "Kolmogorov-Arnold Transformer (KAT, GR-KAN)", "KAN", ("kat",)),
    Paper("5", "FlashKAT", "KAN", (), where="bench `grkan`"),
    Paper("6", "Spectral-Refiner", "operators", ("spectral-refiner",)),
    Paper("7", "KANs for high-entropy alloy design (tabular KAN)", "KAN", ("kan-tabular",)),
    Paper("8", "Limits and powers of Koopman learning (ResDMD)", "dynamics", ("resdmd",)),
    Paper("9", "Parallel learning by multitasking neural networks", "hebbian", ("hebbian-multitask",)),
    Paper("10", "NeuRBF: adaptive radial basis neural fields", "representations", ("neurbf",)),
    Paper("11", "Dense Hebbian networks, supervised", "hebbian", ("hebbian-dense",)),
    Paper("12", "Shallow networks with bandlimited random weights", "kernels", ("bandlimited",)),
    Paper("13", "Lagrangian PINNs (LPINN)", "physics", ("lpinn",)),
    Paper("14", "MgNO: multigrid neural operator", "operators", ("mgno",)),
    Paper("15", "Learning hierarchical polynomials with three-layer networks", "theory", ("hierarchical-poly",)),
    Paper("16", "Transform Once (T1)", "operators", ("t1",)),
    Paper("17", "Hebbian orthogonal projection for continual learning (HLOP)", "hebbian", ("hlop",)),
    Paper("18", "Principles of Deep Learning Theory (criticality)", "theory", ("criticality",)),
    Paper("19", "LESnets: physics-informed neural operator for LES", "physics", ("lesnets",)),
    Paper("20", "S4-PTD / S5-PTD: perturb-then-diagonalize SSMs", "representations", ("s4-ptd",)),
    Paper("21", "Training deep surrogates with large-scale online learning", "operators", ("online-training",)),
    Paper("22", "Gaunt tensor products", "representations", ("gaunt",)),
    Paper("23", "Magnitude-invariant parametrizations for hypernetworks (MIP)", "representations", ("mip",)),
    Paper("24", "Neural tangent kernel", "kernels", ("ntk",)),
    Paper("25", "Scalable neural network kernels (SNNK, URF)", "kernels", ("snnk",)),
    Paper("26", "Location encoding with spherical harmonics and SIREN", "representations", ("location-encoder",)),
    Paper("27", "Scale mixtures of NNGPs", "kernels", ("nngp-scale-mixture",)),
    Paper("28", "Kinetic-optimal probability paths", "generative", ("kinetic-optimal",)),
    Paper("29", "PIG: Physics-informed Gaussians", "physics", ("pig",)),
    Paper("30", "Latent Spectral Models (LSM)", "operators", ("lsm",)),
    Paper("31", "EvoNorms", "representations", ("evonorm",)),
    Paper("32", "Extending neural architectures to function spaces", "operators", ("nn-to-no",)),
    Paper("33", "Chaos as an interpretable benchmark", "dynamics", ("chaos-benchmark",)),
    Paper("34", "Multi-grid tensorized FNO (MG-TFNO)", "operators", ("mg-tfno",)),
    Paper("35", "Physics-informed cluster analysis for local ROM bases", "dynamics", ("rom-clusters",)),
    Paper("36", "MEDIDA: model-error discovery", "dynamics", ("medida",)),
    Paper("37", "Structure-preserving operator learning (SPON)", "operators", ("spon",)),
    Paper("38", "Geometry-adaptive harmonic bases in diffusion models", "generative", ("gahb",)),
]


def latest_metrics(runs: Path, recipe: str) -> dict | None:
    """metrics.json of the newest finished run of ``recipe`` under ``runs`` (None if none)."""
    folder = runs / recipe
    if not folder.is_dir():
        return None
    for run in sorted(folder.iterdir(), reverse=True):
        path = run / "metrics.json"
        if path.is_file():
            return json.loads(path.read_text())
    return None


def recipe_status(runs: Path | None, recipe: str, registered: set[str]) -> str:
    if recipe not in registered:
        return "not yet"
    m = latest_metrics(runs, recipe) if runs is not None else None
    if m is None:
        return "not run"
    if m.get("status") != "ok":
        return m.get("status", "error")
    claims = m.get("claims", [])
    met = sum(c["met"] for c in claims)
    size = "quick" if m.get("quick") else "full"
    return f"met ({size})" if met == len(claims) else f"{met}/{len(claims)} met ({size})"
