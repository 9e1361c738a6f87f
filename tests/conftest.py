"""Test settings: one CPU thread (the machines are shared, and the models here are tiny)."""
import torch

torch.set_num_threads(1)
