"""THE feature code path: the same DuckDB SQL over the raw files (batch) or over one applicant's rows (API).

One statement computes the application features, one per history source its aggregates per client; a small
numpy step joins them (no rows: NULL, or 0 for counts) and adds the cross-table ratios.

The same statements also compute the policy inputs (POLICY_INPUTS): what the lender's stop factors and
affordability read (scoring.decision). They are never model inputs: they come back in a frame of their own, so
that feature_names(), the trained model and its figures stay as they are.

The modules: application (the application features' SQL), history (each history source's aggregates), assemble
(one row per client, cross ratios, the names), batch (the whole portfolio from the raw files) and applicant (one
or a few applicants from their records).
"""

from scoring.features.applicant import (
    HISTORY_TABLES,
    features_and_policy_inputs_from_records,
    features_from_records,
    features_with_new_application,
)
from scoring.features.application import (
    APP_ENGINEERED,
    APP_NUMERIC_RAW,
    APPLICATION_SQL,
    CATEGORICAL_FEATURES,
    HISTORY_FREE_POLICY_INPUTS,
    POLICY_APPLICATION,
    PROTECTED_FIELDS,
    application_feature_names,
)
from scoring.features.assemble import CROSS, POLICY_CROSS, POLICY_INPUTS, feature_names
from scoring.features.assemble import cross_ratios as _cross
from scoring.features.batch import batch_connection, build_features, build_features_and_policy_inputs, load_target
from scoring.features.history import (
    AGGREGATE_SQL,
    BUREAU,
    CARDS,
    INSTALMENTS,
    POLICY_ARREARS,
    POLICY_BUREAU,
    POLICY_PREVIOUS,
    POS,
    POS_CONTRACTS,
    PREVIOUS,
)

__all__ = [
    "AGGREGATE_SQL",
    "APPLICATION_SQL",
    "APP_ENGINEERED",
    "APP_NUMERIC_RAW",
    "BUREAU",
    "CARDS",
    "CATEGORICAL_FEATURES",
    "CROSS",
    "HISTORY_FREE_POLICY_INPUTS",
    "HISTORY_TABLES",
    "INSTALMENTS",
    "POLICY_APPLICATION",
    "POLICY_ARREARS",
    "POLICY_BUREAU",
    "POLICY_CROSS",
    "POLICY_INPUTS",
    "POLICY_PREVIOUS",
    "POS",
    "POS_CONTRACTS",
    "PREVIOUS",
    "PROTECTED_FIELDS",
    "_cross",
    "application_feature_names",
    "batch_connection",
    "build_features",
    "build_features_and_policy_inputs",
    "feature_names",
    "features_and_policy_inputs_from_records",
    "features_from_records",
    "features_with_new_application",
    "load_target",
]
