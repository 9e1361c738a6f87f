"""Dense: ordinary training of every weight, the reference of every comparison."""
from __future__ import annotations

from .base import Method, register


class Dense(Method):
    name = family = "dense"
    title = "dense (float32)"
    colour, marker = "#000000", "s"
    reference = True


register(Dense())
