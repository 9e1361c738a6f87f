"""The grid is data (pemn.cells): every profile's run ids, configurations and figures are pinned, and no
committed run is ever left pending or stale by a change to the grid.

After adding cells on purpose: ``PEMN_UPDATE_PIN=1 .venv/bin/python -m pytest tests/test_grid_pin.py`` rewrites
the pin; the diff shows exactly which runs were added.
"""
import hashlib
import json
import os
from pathlib import Path

import pytest

from pemn.grids import PROFILES, grid
from pemn.runs import read_records, why_pending
from pemn.runs.records import run_dir
from pemn.train import config_dict

PIN = Path(__file__).with_name("grid_pin.json")


def _fingerprint(profile: str) -> dict:
    return {rid: {"config": hashlib.sha256(json.dumps(config_dict(r.config), sort_keys=True).encode()).hexdigest()[:16],
                  "figures": list(r.figures)} for rid, r in grid(profile).items()}


def test_every_profile_grid_is_the_pinned_one():
    now = {p: _fingerprint(p) for p in PROFILES}
    if os.environ.get("PEMN_UPDATE_PIN"):
        PIN.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
    pinned = json.loads(PIN.read_text())
    for p in PROFILES:
        assert set(now[p]) == set(pinned[p]), f"{p}: added {sorted(set(now[p]) - set(pinned[p]))[:5]}, " \
                                                f"removed {sorted(set(pinned[p]) - set(now[p]))[:5]}"
        changed = [rid for rid in now[p] if now[p][rid] != pinned[p][rid]]
        assert not changed, f"{p}: configuration or figures changed for {changed[:5]}"


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_no_committed_run_is_pending_or_stale(profile):
    planned = grid(profile)
    for rec in read_records(profile):
        if rec.run_id in planned:
            assert why_pending(run_dir(profile, rec.run_id), planned[rec.run_id].config) is None, rec.run_id
    committed = {r.run_id for r in read_records(profile)}
    assert committed <= set(planned), f"records outside the grid: {sorted(committed - set(planned))[:5]}"
