"""Pieces of the karat recipe: the memory measurement and the accuracy it uses (``basiskit.measure``)."""
import torch

from basiskit.measure import accuracy
from basiskit.recipes.karat import attention_memory


def test_attention_memory_ratios():
    mem = attention_memory(dim=16, heads=2, num_tokens=9, batch=4, grid_size=3, rank=4, seed=0)
    assert mem["softmax_bytes"] > 0
    assert 0 < mem["ratio"] < mem["ratio_materialised"]


def test_accuracy_batches():
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.tensor([0.0, 1.0, 0.0]))
    x, y = torch.zeros(7, 1, 2, 2), torch.tensor([1, 1, 1, 0, 1, 2, 1])
    assert abs(accuracy(model, x, y, device=torch.device("cpu"), batch_size=3) - 500 / 7) < 1e-9
