"""Entropy-coded masks and packed quantization codes: the bytes of the fair-compression file encodings.

A mask that keeps ``k`` of ``n`` weights carries at most ``n * H(k/n)`` bits of information
(``H`` the binary entropy). A 1-bit bitmap reaches that bound only at ``k/n = 0.5``; below, the
positions are range-coded under a Bernoulli model with ``p = k / n`` (``constriction``'s range
coder, a maintained entropy coder): the decoder needs only ``n`` and ``k``, which the file's layout
stores. Measured: within 0.1 % of the bound on a random mask at ``p = 0.1`` (tests pin 2 %).

Quantization codes (``bits`` per kept weight, ``bits`` from 1 to 8) are packed densely,
most significant bit first, with ``numpy.packbits``.
"""
from __future__ import annotations

import math

import numpy as np

WORD_BITS = 32  # the range coder emits 32-bit words


def binary_entropy(p: float) -> float:
    """H(p) in bits: the information per weight of a mask keeping a fraction ``p``."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log2(p) + (1.0 - p) * math.log2(1.0 - p))


def _model(n: int, k: int):
    import constriction
    return constriction.stream.model.Bernoulli(k / n, perfect=False)


def coded_mask_bits(n: int, k: int) -> int:
    """Bits the file spends on an entropy-coded mask (the ``n H(k/n)`` bound, rounded up to whole words)."""
    if k in (0, n):
        return 0
    return WORD_BITS * math.ceil(n * binary_entropy(k / n) / WORD_BITS)


def encode_mask(mask: np.ndarray) -> np.ndarray:
    """Range-code a boolean mask (flattened row-major) into uint32 words; empty when all or none are kept."""
    import constriction
    bits = np.asarray(mask, dtype=bool).reshape(-1)
    n, k = bits.size, int(bits.sum())
    if k in (0, n):
        return np.zeros(0, dtype=np.uint32)
    enc = constriction.stream.queue.RangeEncoder()
    enc.encode(bits.astype(np.int32), _model(n, k))
    return np.asarray(enc.get_compressed(), dtype=np.uint32)


def decode_mask(words: np.ndarray, n: int, k: int) -> np.ndarray:
    """Inverse of :func:`encode_mask` given the mask's size and kept count; checks the count."""
    import constriction
    if k in (0, n):
        return np.full(n, k == n, dtype=bool)
    dec = constriction.stream.queue.RangeDecoder(np.asarray(words, dtype=np.uint32))
    try:
        bits = np.asarray(dec.decode(_model(n, k), n), dtype=bool)
    except Exception as e:  # constriction reports invalid data with an AssertionError
        raise ValueError(f"invalid entropy-coded mask ({e})") from None
    if int(bits.sum()) != k:
        raise ValueError(f"decoded mask keeps {int(bits.sum())} weights, the layout says {k}")
    return bits


def pack_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned integer codes below ``2**bits`` as a dense bit stream (uint8, MSB first, padded to a byte)."""
    codes = np.asarray(codes, dtype=np.uint8).reshape(-1)
    if codes.size and int(codes.max()) >= 1 << bits:
        raise ValueError(f"a code does not fit in {bits} bits")
    return np.packbits(np.unpackbits(codes[:, None], axis=1)[:, 8 - bits:].reshape(-1))


def unpack_codes(packed: np.ndarray, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``count`` codes of ``bits`` bits."""
    raw = np.unpackbits(np.asarray(packed, dtype=np.uint8), count=count * bits).reshape(count, bits)
    full = np.zeros((count, 8), dtype=np.uint8)
    full[:, 8 - bits:] = raw
    return np.packbits(full, axis=1).reshape(-1)


def packed_code_bits(count: int, bits: int) -> int:
    return 8 * math.ceil(count * bits / 8)
