"""Optimizer Lab: train a real PyTorch model with every optimizer side by side."""

__version__ = "0.1.0"
