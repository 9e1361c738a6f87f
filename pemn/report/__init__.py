"""Tables, figures and verdicts of the book, drawn from run records (read through ``pemn.runs``).

One module per chapter (``introduction``, ``method``, ``capacity``,
``compression`` with ``storage_tables``, ``verdicts``, ``reproducibility``
with ``benchmark``), on three shared layers: ``frame`` (records to rows and
points), ``claims`` (the claims engine: records in, verdicts out, pure) and
``display`` (Markdown, figures, tables), ``style`` (the one figure style: sizes at the book's width, type of
at least 9 pt, legends outside the data, each method's own colour) and ``facts`` (the numbers the chapters' prose
quotes, glued into the pages at build time; ``readme`` does the same for the README) and ``paper_compare`` (the
paper's own figure values beside ours, and beside each threshold of the claims engine). The book's notebooks call one
``show_*`` function (or a table function) per figure or table; this package
re-exports them so that a chapter reads ``report.show_fig3(profile)``.

Two families of numbers appear in the book:

- from runs: accuracies, measured compression of each trained model, wall
  times. Each is traceable to a run id, and each run id links its executed
  notebook;
- from the library alone (no training): unique-value counts and the storage
  cost of each configuration (Eq. 10), computed on freshly built models.
  These are deterministic; the notebook tests compare them exactly.
"""
from __future__ import annotations

from .benchmark import bench_table, gpu_check, paper_bench_table, show_bench, show_gpu_check, show_paper_bench
from .capacity import fig3_figure, fig3_points, fig3_table, show_fig3, show_fig3_table
from .claims import NOT_TESTED, Verdict
from .compression import (compression_figure, compression_table, export_table, show_compression,
                          show_compression_table, show_export_summary, show_export_table, show_storage_check,
                          storage_check)
from .display import setup_notebook, show_progress
from .facts import facts, glue_facts
from .fair import fair_verdict, frontier_figure, show_collapse, show_frontier, show_kept_counts
from .frame import BOOK_NOTEBOOKS_ENV, book_notebooks, grid_runs, load, notebook_in_book, points, run_status
from .introduction import answer_figure, show_answer, show_verdicts
from .labels import FIG3_ORDER, arch_label, method_label
from .method import plan_figure, show_plan_figure, show_unique_values, unique_values_table
from .paper_compare import paper_vs_here, show_paper_vs_here, show_promising, show_thresholds
from .reproducibility import (data_table, hardware_md, hardware_table, show_hardware, mask_recipe_check, profiles_table, run_index_md,
                              scale_check, show_mask_recipe, show_profiles, show_protocol_gap, show_run_index,
                              show_scale_check, show_timing, status_summary, timing_table)
from .storage_tables import STORAGE_GROUPS, show_storage_tables, storage_floor, storage_table
from .size import show_size, size_figure, size_table
from .verdicts import claims_table, claims_verdicts, show_claims, show_size_claims, size_claims_table

__all__ = ["BOOK_NOTEBOOKS_ENV", "FIG3_ORDER", "NOT_TESTED", "STORAGE_GROUPS", "Verdict", "answer_figure",
           "arch_label", "bench_table", "gpu_check", "book_notebooks", "claims_table", "claims_verdicts", "compression_figure",
           "compression_table", "data_table", "export_table", "facts", "fair_verdict", "glue_facts", "frontier_figure", "fig3_figure", "fig3_points", "fig3_table",
           "grid_runs", "hardware_md", "hardware_table", "show_hardware", "show_gpu_check", "load", "mask_recipe_check", "method_label",
           "notebook_in_book", "paper_bench_table", "paper_vs_here", "plan_figure", "points", "profiles_table", "run_index_md",
           "run_status", "scale_check", "setup_notebook", "show_answer", "show_bench", "show_claims", "show_collapse", "show_frontier", "show_kept_counts",
           "show_compression", "show_compression_table", "show_export_summary", "show_export_table", "show_fig3",
           "show_fig3_table", "show_mask_recipe", "show_paper_bench", "show_paper_vs_here", "show_promising", "show_plan_figure", "show_profiles",
           "show_progress", "show_protocol_gap", "show_run_index", "show_scale_check", "show_storage_check",
           "show_storage_tables", "show_thresholds", "show_timing", "show_unique_values", "show_verdicts", "status_summary",
           "storage_check", "storage_floor", "storage_table", "timing_table", "unique_values_table", "show_size",
           "show_size_claims", "size_claims_table", "size_figure", "size_table"]
