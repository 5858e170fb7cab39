"""Drift and performance monitoring of the served model (issue #13), one module per concern.

levels (policies/monitoring.yaml), periods (day, ISO week, month), records (the scored_applications table),
reference (the training distribution saved in the bundle, or taken from the store), psi (bins and the index),
stability (PSI per period), outcomes (the outcomes table and its CSV import), performance (AUC, Gini, default and
approval rates, calibration by grade), gauges (/metrics), report (the committee's HTML page), commands (the CLI).
"""
