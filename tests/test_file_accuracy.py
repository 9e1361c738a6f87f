"""One accuracy per model file: ``pemn evaluate`` of a committed file gives exactly the recorded final accuracy."""
from __future__ import annotations

import pytest
import torch

from pemn import runs
from pemn.export import evaluate_file
from pemn.paths import REPO

CPU = REPO / "runs" / "cpu"
# one committed ConvMixer-64/6 run per strategy, and the two rounding-sensitive ERK magnitude runs (chapter 7)
SAMPLED = ("dense-s0", "mask-s0", "one_layer-s0", "mp-s0", "rp1e-2-s0", "random_sparse90-s0",
           "magnitude_sparse94-s1", "erk_random-b0.4797-bnr-s0", "quantized4-b1.002-bnr-s1", "binary-b1.012-bnr-s0",
           "erk_magnitude-b0.4797-bnr-s1", "erk_magnitude-b0.8894-bnr-s0")


@pytest.fixture(scope="module")
def data():
    from pemn import data as data_mod
    return data_mod.load("cifar10")


@pytest.mark.parametrize("method", SAMPLED)
def test_evaluating_the_committed_file_gives_the_recorded_accuracy(method, data):
    folder = CPU / f"convmixer-w64d6k5p4-c10-{method}"
    rec = runs.read_record(folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(rec.hardware.get("torch_threads", threads))  # float sums depend on the thread count
    try:
        r = evaluate_file(folder / "model.pemn", data=data)
    finally:
        torch.set_num_threads(threads)
    assert r["test_size"] == rec.test_size
    assert r["test_acc"] == rec.final_test_acc
    assert runs.recorded_accuracy(folder / "model.pemn", r["config"]) == rec.final_test_acc


def test_a_record_keeps_both_accuracies_where_training_measured_another():
    result = {"final_test_acc": 0.5, "device": "cuda"}
    runs.record_file_accuracy(result, {"test_acc": 0.4987, "device": "cpu"})
    assert result["final_test_acc"] == 0.4987 and result["training_final_test_acc"] == 0.5
    assert "cuda" in result["training_final_test_acc_note"]
    same = {"final_test_acc": 0.5, "device": "cpu"}
    runs.record_file_accuracy(same, {"test_acc": 0.5, "device": "cpu"})
    assert "training_final_test_acc" not in same and same["final_test_acc_source"].startswith("model.pemn")
