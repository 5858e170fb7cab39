"""Derive the synthetic generator's marginal profile (quantiles, category frequencies, missing rates).

Run once against a folder of real Home Credit files; only aggregate statistics are written, no rows.
Usage: python scripts/make_synth_profile.py ../shared/homecredit-sample scoring/synth_profile.json
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scoring.tables import SCHEMAS, TABLES, find_table, read_table  # noqa: E402

QUANTILES = np.linspace(0, 1, 41)


def profile_column(series, kind):
    values = series.dropna()
    out = {"missing": round(float(series.isna().mean()), 4)}
    if kind == "str" or values.nunique() <= 30:
        freq = values.value_counts(normalize=True)
        out["values"] = [v.item() if hasattr(v, "item") else v for v in freq.index]
        out["freq"] = [round(float(f), 5) for f in freq.values]
    else:
        out["quantiles"] = [float(q) for q in np.quantile(values.to_numpy(float), QUANTILES)] if len(values) else []
    return out


def main(src: str, dest: str) -> None:
    profile = {}
    for name in TABLES:
        if name == "application_test" or find_table(src, name) is None:
            continue
        df = read_table(src, name)
        profile[name] = {
            c: profile_column(df[c], k)
            for c, k in SCHEMAS[name].items()
            if c not in ("SK_ID_CURR", "SK_ID_PREV", "SK_ID_BUREAU", "TARGET")
        }
    Path(dest).write_text(json.dumps(profile, separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
