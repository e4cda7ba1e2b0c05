"""Fused compute: ``torch.autograd.Function``s and Triton kernels, each beside its pure-PyTorch reference."""
