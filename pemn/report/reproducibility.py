"""Chapter 6 (reproducibility): profiles, scale and recipe checks, hardware, timing, data, the run index."""
from __future__ import annotations

import json

import pandas as pd

from . import display
from .frame import grid_runs, load, profiles_present, progress_counts, run_status
from .labels import MASK, REFERENCE, arch_label, dataset_label, full_arch, pct


def profiles_table() -> pd.DataFrame:
    from ..grids import PROFILES, get_profile, grid
    rows = []
    for name in PROFILES:
        p = get_profile(name)
        runs = grid(name)
        epochs = sorted({r.config.epochs for r in runs.values()})
        rows.append({"profile": name, "runs in grid": len(runs), "seeds": ", ".join(map(str, p.seeds)) + "".join(
                         f" (Fig. {fig[3:]}: {', '.join(map(str, seeds))})" for fig, seeds in p.figure_seeds
                         if seeds != p.seeds),
                     "epochs": ", ".join(map(str, epochs)),
                     "training images": ", ".join(sorted({f"{r.config.subset:,}" if r.config.subset else "all 50,000"
                                                          for r in runs.values()})),
                     "Fig. 3 backbones": ", ".join(arch_label(b, a) for b, a in p.fig3),
                     "Fig. 4": ", ".join(f"{arch_label(b)} / {dataset_label(d)}" for b, d in p.fig4),
                     "Fig. 5": ", ".join(arch_label("convmixer", a) for a in p.fig5),
                     "note": p.note})
    return pd.DataFrame(rows).set_index("profile")


def show_profiles():
    """The profiles side by side, one column each (narrow enough for the page); their notes below."""
    t = profiles_table()
    display.show_table(t.drop(columns="note").T.rename_axis("profile").reset_index().rename(columns={"profile": ""}))
    display.md("\n".join(f"- **`{name}`**: {note}" for name, note in t["note"].items() if note))


def status_summary() -> pd.DataFrame:
    rows = []
    for prof in profiles_present() or ["cpu"]:
        s = run_status(prof)
        c = s["status"].value_counts()
        rows.append({"profile": prof, "runs listed": len(s), **{k: int(v) for k, v in c.items()}})
    return pd.DataFrame(rows).fillna(0).set_index("profile").astype(int)

MEANINGFUL_DENSE = 0.60   # issue #4: a dense model should clearly beat 60 % on CIFAR-10 for the numbers to mean much

CLEAR_MARGIN = 0.05       # "clearly": at least 5 points above it


BAR = f"{MEANINGFUL_DENSE:.0%} plus a {100 * CLEAR_MARGIN:.0f}-point margin, i.e. {MEANINGFUL_DENSE + CLEAR_MARGIN:.0%}"


def _budget(r) -> str:
    images = f"{int(r['train_size']):,}" if pd.notna(r.get("train_size")) else "?"
    return f"{images} images x {int(r['epochs'])} epochs"


def _schedule(df: pd.DataFrame) -> pd.Series:
    """The recipe without its learning rate and weight decay (batch, optimizer, schedule, smoothing, augmentation):
    what "the same budget" holds fixed when a check varies the rate or the decay."""
    return df["recipe"].str.split(", ", n=2).str[2]


def _dense_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Dense CIFAR-10 test accuracy per network, budget and recipe (runs that never read the test set left out)."""
    d = df[(df["strategy"] == REFERENCE) & (df["dataset"] == "cifar10")] if not df.empty else df
    d = d[d["final_acc"].notna()] if not d.empty else d
    if d.empty:
        return d
    d = d.assign(budget=d.apply(_budget, axis=1), train_size=d["train_size"].fillna(0).astype(int),
                 schedule=_schedule(d))
    g = d.groupby(["arch", "budget", "train_size", "epochs", "schedule", "lr", "weight_decay"])
    t = g.agg(runs=("run_id", "size"), seeds=("seed", lambda s: ", ".join(map(str, sorted(s)))),
              mean=("final_acc", "mean"), lo=("final_acc", "min"), hi=("final_acc", "max"),
              minutes=("wall_time_s", lambda s: s.mean() / 60)).reset_index()
    return t.sort_values(["arch", "train_size", "epochs"])


def _verdict(acc: float) -> str:
    if acc >= MEANINGFUL_DENSE + CLEAR_MARGIN:
        return "clearly above 60 %"
    return "above 60 %, but not clearly" if acc >= MEANINGFUL_DENSE else "below 60 %"


def scale_check(profile: str = "cpu", calibration: str = "custom") -> pd.DataFrame:
    """Dense CIFAR-10 accuracy of each backbone: the profile's runs, then larger-budget runs under ``calibration``.

    The profile trades accuracy for time; this table says whether its dense models clear 60 % and, from dense
    runs made with a larger budget, which budget would.
    """
    rows = []
    for source in (profile, calibration):
        t = _dense_rows(load(source))
        for _, r in t.iterrows():
            rows.append({"runs of": f"`{source}`", "backbone": r["arch"], "training budget": r["budget"],
                         "recipe (besides lr, wd)": r["schedule"], "seeds": r["seeds"], "dense final accuracy": pct(r["mean"]) + (
                             f" ({pct(r['lo'])}-{pct(r['hi'])})" if r["runs"] > 1 else ""),
                         "verdict": _verdict(r["mean"]), "min per run": round(float(r["minutes"]), 1),
                         "_source": source, "_mean": r["mean"], "_images": r["train_size"] * r["epochs"]})
    return pd.DataFrame(rows)


def show_scale_check(profile: str = "cpu", calibration: str = "custom"):
    t = scale_check(profile, calibration)
    if t.empty:
        return display.note_no_runs(profile, "The scale check")
    display.show_table(t.drop(columns=["_source", "_mean", "_images"]).set_index(["runs of", "backbone"]),
                       f"Dense test accuracy (final epoch, CIFAR-10) against the bar ({BAR}), profile `{profile}` and "
                       f"calibration runs under `runs/{calibration}/` (dense runs with a larger training budget, same recipe "
                       f"otherwise; wall time is the training loop on the machine of the hardware table).")
    lines = []
    ours, cal = t[t["_source"] == profile], t[t["_source"] == calibration]
    for _, r in ours.iterrows():
        if r["_mean"] >= MEANINGFUL_DENSE + CLEAR_MARGIN:
            continue
        better = cal[(cal["backbone"] == r["backbone"]) & (cal["_mean"] >= MEANINGFUL_DENSE + CLEAR_MARGIN)]
        text = f"- **{r['backbone']}**: {r['dense final accuracy']} with {r['training budget']} ({r['verdict']})."
        if better.empty:
            text += f" No calibration run of this backbone clears the bar ({BAR}) yet."
        else:
            b = better.sort_values("_images").iloc[0]
            text += (f" The smallest measured budget that clears the bar: {b['training budget']}, "
                     f"{b['dense final accuracy']}, {b['min per run']} min per run.")
        lines.append(text)
    if lines:
        display.md(f"**Where the `{profile}` profile is too small.** Its dense models should clear 60 % by a wide "
                   f"margin ({BAR}) for the comparisons to mean much; these do not:\n\n" + "\n".join(lines))
    else:
        display.md(f"Every dense model of the `{profile}` profile clears the bar ({BAR}).")


def mask_recipe_check(profile: str = "cpu", calibration: str = "custom") -> pd.DataFrame:
    """Edge-popup (``mask``) accuracy by learning rate, weight decay and budget, beside dense at the same budget.

    The profile's own ``mask`` runs first, then calibration runs of the same backbones that change the recipe or
    the budget: whether the gap to dense is the method's or an untuned recipe's.
    """
    frames = {src: load(src) for src in (profile, calibration)}
    if frames[profile].empty:
        return pd.DataFrame()
    archs = set(frames[profile].loc[frames[profile]["strategy"] == MASK, "arch"])
    # dense at each budget, per source: the same seed of one configuration made in two profiles is not two seeds,
    # so the profiles' runs are never averaged together; a source without its own dense run takes the other's
    own = {src: {(r["arch"], r["train_size"], r["epochs"], r["schedule"]): r["mean"]
                 for _, r in _dense_rows(f).iterrows()} for src, f in frames.items() if not f.empty}
    rows = []
    for source, df in frames.items():
        if df.empty:
            continue
        m = df[(df["strategy"] == MASK) & (df["dataset"] == "cifar10") & df["arch"].isin(archs)]
        if m.empty:
            continue
        m = m.assign(budget=m.apply(_budget, axis=1), train_size=m["train_size"].fillna(0).astype(int),
                     schedule=_schedule(m))
        g = m.groupby(["arch", "budget", "train_size", "epochs", "schedule", "lr", "weight_decay"])
        for (arch, budget, size, epochs, schedule, lr, wd), d in g:
            acc, key = d["final_acc"].mean(), (arch, size, epochs, schedule)
            ref = next((own[src][key] for src in (source, *own) if key in own[src]), None)
            rows.append({"runs of": f"`{source}`", "backbone": arch, "training budget": budget,
                         "recipe (besides lr, wd)": schedule, "lr": f"{lr:g}",
                         "weight decay": f"{wd:g}", "seeds": ", ".join(map(str, sorted(d["seed"]))),
                         "mask final accuracy": pct(acc), "dense, same budget": pct(ref) if ref else "not run",
                         "mask / dense": f"{acc / ref:.0%}" if ref else "", "_source": source, "_acc": acc,
                         "_images": size * epochs, "_lr": lr, "_wd": wd})
    return pd.DataFrame(rows)


def _seeds(row) -> str:
    return ("seeds " if "," in row["seeds"] else "seed ") + row["seeds"]


def show_mask_recipe(profile: str = "cpu", calibration: str = "custom"):
    t = mask_recipe_check(profile, calibration)
    if t.empty:
        return display.note_no_runs(profile, "The masked-recipe check")
    display.show_table(t.drop(columns=[c for c in t.columns if c.startswith("_")]).set_index(["runs of", "backbone"]),
                       f"Final test accuracy of `mask` (edge-popup on independent random weights, keep ratio 0.5) in profile "
                       f"`{profile}` and in calibration runs under `runs/{calibration}/` that change one thing: the peak "
                       f"learning rate, the weight decay on the scores, or the training budget.")
    lines = []
    for arch, d in t.groupby("backbone"):
        own = d[d["_source"] == profile].iloc[0]
        same = d[d["_images"] == own["_images"]]
        best = same.sort_values("_acc").iloc[-1]
        text = f"- **{arch}**: {own['mask final accuracy']} at the profile's budget and lr {own['lr']} ({_seeds(own)})"
        if len(same) > 1:
            text += (f"; the best of the {len(same)} recipes tried at that budget: lr {best['lr']}, weight decay "
                     f"{best['weight decay']}, {best['mask final accuracy']} ({_seeds(best)}).")
        else:
            text += "; no other recipe was tried."
        larger = d[(d["_images"] > own["_images"]) & (d["_lr"] == own["_lr"]) & (d["_wd"] == own["_wd"])]
        for _, r in larger.sort_values("_images").iterrows():
            text += (f" With {r['training budget']}: {r['mask final accuracy']}"
                     + (f" ({r['mask / dense']} of dense at that budget)" if r["mask / dense"] else "") + ".")
        lines.append(text)
    display.md("**Is the gap to dense the recipe's?** Gains from the learning rate or weight decay within a point or two "
               "are within one seed's noise; gains from a larger budget say the masks are further from convergence than "
               "the dense weights.\n\n" + "\n".join(lines))


def hardware_table(profile: str = "cpu") -> pd.DataFrame:
    """CPU model x torch threads x runs, from each run's own record (and the mean load average at its end)."""
    df = load(profile)
    if df.empty:
        return df
    d = df.assign(processor=df["processor"].fillna("unknown"), device=df["device"].fillna("unknown"),
                  cores=df["cpu_count"].fillna(0).astype(int), threads=df["torch_threads"].fillna(0).astype(int))
    t = d.groupby(["processor", "cores", "threads", "device"]).agg(
        runs=("run_id", "size"), load=("load_avg", "mean"), hours=("wall_time_s", lambda s: s.sum() / 3600)
    ).reset_index().sort_values(["runs"], ascending=False)
    t["load"], t["hours"] = t["load"].round(2), t["hours"].round(1)
    return t.rename(columns={"processor": "CPU model", "cores": "CPU cores", "threads": "torch threads",
                             "device": "device", "hours": "training loop (h)",
                             "load": "mean 1-min load at the end of a run"}).reset_index(drop=True)


def show_hardware(profile: str = "cpu"):
    """The hardware table with the software versions the runs recorded, in one line under it."""
    t = hardware_table(profile)
    if t.empty:
        return display.note_no_runs(profile, "The hardware table")
    df = load(profile)
    versions = ", ".join(f"{k} {'/'.join(sorted(set(df[k].dropna().astype(str))))}" for k in ("python", "torch"))
    display.show_table(t, f"Every run of profile `{profile}` by the CPU model, core count and torch threads its record "
                          f"names ({len(df)} runs; {versions}).")


def hardware_md(profile: str = "cpu") -> str:
    """The hardware table as the README shows it (CPU model x threads x runs)."""
    t = hardware_table(profile)
    return display.table_md(t[["CPU model", "CPU cores", "torch threads", "runs", "training loop (h)"]]) if len(t) else ""


def timing_table(profile: str = "cpu") -> pd.DataFrame:
    """Wall time per run, by backbone and method family, with the total."""
    df = load(profile)
    if df.empty:
        return df
    df = df.assign(images=df["train_size"].astype(int))  # the budget axis: same model and epochs, more images
    g = df.groupby(["arch", "dataset", "images", "family", "epochs"])
    t = g.agg(runs=("run_id", "size"), mean_s=("wall_time_s", "mean"), min_s=("wall_time_s", "min"),
              max_s=("wall_time_s", "max"), total_min=("wall_time_s", lambda s: s.sum() / 60)).reset_index()
    t["s per epoch"] = (t["mean_s"] / t["epochs"]).round(1)
    for c in ("mean_s", "min_s", "max_s", "total_min"):
        t[c] = t[c].round(1)
    return t.rename(columns={"mean_s": "mean s/run", "min_s": "min s", "max_s": "max s",
                             "total_min": "total min"}).set_index(["arch", "dataset", "images", "family"])


def timing_summary(profile: str = "cpu") -> dict:
    df = load(profile)
    s = run_status(profile)
    missing = s[(s["status"] != "complete") & s["in_grid"]]
    out = {"complete": len(df), "total_h": df["wall_time_s"].sum() / 3600 if not df.empty else 0.0,
           "missing": len(missing), "estimate_missing_h": None}
    if not df.empty and len(missing):
        per = df.groupby(["backbone", "arch_key"])["wall_time_s"].mean()
        planned = grid_runs(profile)
        est, known = 0.0, 0
        for rid in missing["run_id"]:
            c = planned[rid].config
            key = (c.backbone, json.dumps(full_arch(c.backbone, c.arch), sort_keys=True))
            if key in per.index:
                est += per[key]
                known += 1
        out["estimate_missing_h"] = est / 3600
        out["estimate_known"] = known
    return out


def show_timing(profile: str = "cpu"):
    t = timing_table(profile)
    if t.empty:
        return display.note_no_runs(profile, "The timing table")
    s = timing_summary(profile)
    display.show_table(t, f"Wall time of the training loop per run (from each metrics.json, `wall_time_s`: training and "
                       f"evaluation epochs, not data loading or kernel start), profile `{profile}`.")
    text = (f"**Total:** {s['complete']} completed runs took {s['total_h']:.2f} h of training time on the hardware "
            f"above (a shared 2-core machine: the load average says how busy it was).")
    if s["missing"]:
        text += f" {s['missing']} runs of the grid are not complete"
        if s.get("estimate_missing_h") is not None and s.get("estimate_known"):
            text += (f"; at the measured mean time of their backbone, {s['estimate_known']} of them would take about "
                     f"{s['estimate_missing_h']:.1f} h more")
        text += "."
    display.md(text)


def data_table(profile: str = "cpu") -> pd.DataFrame:
    df = load(profile)
    if df.empty:
        return df
    t = df.groupby(["dataset", "data_kind", "data_path", "data_sha256"], dropna=False).size().rename(
        "runs").reset_index()
    return t.rename(columns={"data_kind": "source", "data_path": "path", "data_sha256": "sha256"}).set_index("dataset")


def protocol_gap(profile: str = "cpu") -> dict | None:
    """How much the test-selected best epoch would add over the final-epoch headline."""
    df = load(profile)
    if df.empty:
        return None
    gap = df["best_acc"] - df["final_acc"]
    return {"runs": len(df), "mean": float(gap.mean()), "max": float(gap.max()),
            "runs_final_is_best": int((gap <= 1e-12).sum())}


def show_protocol_gap(profile: str = "cpu"):
    g = protocol_gap(profile)
    if g is None:
        return display.md(f"No completed run of profile `{profile}` yet to measure the best-epoch selection effect.")
    display.md(f"Measured on the {g['runs']} completed runs of profile `{profile}`: reporting the best epoch on the test "
               f"set, as the official code does, would add {100 * g['mean']:.2f} points on average (at most "
               f"{100 * g['max']:.2f}); in {g['runs_final_is_best']} runs the final epoch is also the best.")


def run_index_frame(profile: str) -> pd.DataFrame:
    """The run index of a profile as a Markdown table; each finished run links its executed notebook (which also
    shows the best-epoch, test-selected accuracy: the protocol-gap section sums it up)."""
    s = run_status(profile)
    rows = []
    for _, r in s.iterrows():
        # links are relative to book/ (where the chapter lives)
        nb = r["notebook"] if isinstance(r["notebook"], str) and r["notebook"] else None
        name = f"[{r['run_id']}](../{nb})" if nb else f"`{r['run_id']}`"
        done = r["status"] == "complete" and pd.notna(r["final_acc"])
        rows.append({"run": name, "figures": r["figures"],
                     "result": pct(r["final_acc"], 2) if done else r["status"],
                     "Eq. 10": pct(r["compression"], 2) if pd.notna(r["compression"]) else "",
                     "wall time": f"{r['wall_time_s'] / 60:.1f} min" if pd.notna(r["wall_time_s"]) else "",
                     "detail": f"`{str(r['detail']).replace('|', '/').replace('`', chr(39))}`" if r["detail"] else ""})
    # one column for the final test accuracy or, before a run completes, its status; the compression is Eq. 10's:
    # with the longest run id (unbroken) the index fits the main column (tests/test_book_html.py)
    t = pd.DataFrame(rows, columns=["run", "figures", "result", "Eq. 10", "wall time", "detail"])
    if not t["detail"].astype(bool).any():
        t = t.drop(columns="detail")
    return t


def run_index_md(profile: str) -> str:
    """The run index of a profile as a Markdown table; each finished run links its executed notebook."""
    t = run_index_frame(profile)
    return f"Profile `{profile}` has no runs." if t.empty else display.table_md(t)


def show_run_index(profile: str | None = None):
    """Run index for ``profile`` (or every profile present under runs/)."""
    profs = [profile] if profile else sorted(profiles_present(), key=lambda p: p != "cpu")  # the book's first
    if not profs:
        return display.md("No runs under `runs/` yet.")
    for prof in profs:
        c = progress_counts(prof)
        total = c.pop("total")
        display.md(f"**Profile `{prof}`** ({total} runs: " + ", ".join(f"{n} {k}" for k, n in c.items()) + ")")
        t = run_index_frame(prof)
        if t.empty:
            display.md(f"Profile `{prof}` has no runs.")
        else:  # sortable, filterable and paged in the book (the run ids unbroken)
            display.show_table(t, sortable=True)
