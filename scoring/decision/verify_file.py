"""`python -m scoring verify`: a file of applications with the main pipeline's figures -> a report per application.

Input layouts (by extension):
- JSON lines (.jsonl, .ndjson): one object per line, {"id"?, "application", "history"?, "theirs"}, the bodies of
  POST /api/v1/verify (history: table name -> list of records in Kaggle names); id defaults to the line number.
- CSV or Parquet: one application per row in Kaggle names (SK_ID_CURR is the id), the main pipeline's figures in
  columns `theirs_pd`, `theirs_outcome`, `theirs_stop_factors` (codes separated by ';') and `factor.<NAME>`; the
  history is read from the raw tables of `--data` by SK_ID_CURR, like `predict`.
Output: JSON lines (one report per line: id, status, discrepancies, decision) or CSV (id, status, outcome, pd,
discrepancies as JSON), written whole or not at all. Every application is validated first, as the API does.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from scoring import progress
from scoring.applicant_schema import ApplicantError, validate_applicant
from scoring.decision.verify import TheirsError, parse_theirs, summary, verify_applicants

CHUNK = 500
_JSON_LINES = (".jsonl", ".ndjson")
_FACTOR = "factor."


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in (*_JSON_LINES, ".csv", ".csv.gz", ".parquet"):
        if name.endswith(suffix):
            return suffix
    raise ValueError(f"{path}: unsupported file type; use .jsonl, .csv, .csv.gz or .parquet")


def _json_lines(path: Path):
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                raise ValueError(f"{path}: line {number}: not valid JSON") from None
            if not isinstance(item, dict):
                raise ValueError(f"{path}: line {number}: must be an object of application, history, theirs")
            yield item.pop("id", number), item, f"line {number}"


def _value(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _table_rows(path: Path, data_dir):
    """Rows of a CSV or Parquet file as verification items, the history of each from `data_dir`."""
    from scoring.tables import SCHEMAS

    frame = pd.read_parquet(path) if path.name.lower().endswith(".parquet") else pd.read_csv(path)
    if "SK_ID_CURR" not in frame.columns:
        raise ValueError(f"{path}: column SK_ID_CURR is missing")
    schema = SCHEMAS["application_test"]
    ids = frame["SK_ID_CURR"].astype("int64").to_numpy()
    history = _history_records(data_dir, ids)
    for i, row in enumerate(frame.to_dict("records")):
        application = {
            k: int(v) if schema[k] == "int" else v
            for k, v in ((k, _value(row[k])) for k in frame.columns if k in schema and k != "SK_ID_CURR")
            if v is not None
        }
        codes = _value(row.get("theirs_stop_factors"))
        theirs = {
            "factors": {k[len(_FACTOR) :]: _value(v) for k, v in row.items() if k.startswith(_FACTOR)},
            "stop_factors": None if "theirs_stop_factors" not in row else [c for c in str(codes or "").split(";") if c],
            "pd": _value(row.get("theirs_pd")),
            "outcome": _value(row.get("theirs_outcome")),
        }
        item = {"application": application, "history": history.get(int(ids[i]), {}), "theirs": theirs}
        yield int(ids[i]), item, f"data row {i + 1}"


def _history_records(data_dir, ids) -> dict[int, dict[str, list[dict]]]:
    """The history of each id as records (Kaggle names, null for missing), as a caller would post them."""
    from scoring.predict import history_frames
    from scoring.tables import SCHEMAS

    out: dict[int, dict[str, list[dict]]] = {}
    owner: dict = {}  # bureau credit -> client: bureau_balance rows are linked through their credit
    for table, frame in history_frames(data_dir, ids).items():  # bureau comes before bureau_balance
        schema = SCHEMAS[table]
        for rec in frame.to_dict("records"):
            clean = {k: (int(v) if schema[k] == "int" else v) for k, v in rec.items() if _value(v) is not None}
            if table == "bureau_balance":
                cid = owner.get(rec["SK_ID_BUREAU"])
            else:
                cid = int(rec["SK_ID_CURR"])
                if table == "bureau":
                    owner[rec["SK_ID_BUREAU"]] = cid
            if cid is not None:
                out.setdefault(cid, {}).setdefault(table, []).append(clean)
    return out


def _items(path: Path, data_dir):
    rows = _json_lines(path) if _suffix(path) in _JSON_LINES else _table_rows(path, data_dir)
    for key, item, where in rows:
        problems = []
        extra = set(item) - {"application", "history", "theirs"}
        problems += [{"field": k, "message": "unknown field"} for k in sorted(extra)]
        applicant = theirs = None
        try:
            applicant = validate_applicant({k: v for k, v in item.items() if k in ("application", "history")})
        except ApplicantError as exc:
            problems += exc.problems
        try:
            theirs = parse_theirs(item.get("theirs"))
        except TheirsError as exc:
            problems += exc.problems
        if problems:
            listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
            raise ValueError(f"{path}: {where}: {listed}")
        yield key, applicant, theirs


def _chunks(items, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _csv_row(key, report: dict) -> dict:
    decision = report["decision"]
    return {
        "id": key,
        "status": report["status"],
        "outcome": decision["outcome"],
        "pd": decision["score"]["pd"],
        "discrepancies": json.dumps(report["discrepancies"]),
    }


def verify_file(input, output, data_dir=None, models_dir="models", policy_path=None) -> dict:
    """Verify every application of `input` into `output`; returns the summary (scoring.decision.verify.summary)."""
    from scoring.bundle import ModelBundle
    from scoring.decision import load_policy

    src, dst = Path(input), Path(output)
    if not src.exists():
        raise ValueError(f"input file {src} does not exist")
    _suffix(src)
    out_kind = _suffix(dst)
    if out_kind not in (*_JSON_LINES, ".csv"):
        raise ValueError(f"{dst}: the report is written as .jsonl or .csv")
    bundle = ModelBundle.load(models_dir)
    policy = load_policy(policy_path, grades=bundle.grades)
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial, seen = dst.with_name(dst.name + ".partial"), []
    try:  # chunk by chunk into `partial`, renamed only when every application passed: never a half report
        with partial.open("w", encoding="utf-8") as out, progress.step("verifying", unit="applications") as done:
            for n, chunk in enumerate(_chunks(_items(src, data_dir), CHUNK)):
                reports = verify_applicants(bundle, policy, [a for _, a, _ in chunk], [t for *_, t in chunk])
                seen += [{"status": r["status"], "discrepancies": r["discrepancies"]} for r in reports]
                keys = [key for key, _, _ in chunk]
                if out_kind == ".csv":
                    rows = pd.DataFrame([_csv_row(k, r) for k, r in zip(keys, reports, strict=True)])
                    rows.to_csv(out, index=False, header=n == 0)
                else:
                    out.writelines(json.dumps({"id": k, **r}) + "\n" for k, r in zip(keys, reports, strict=True))
                done.update(len(chunk))
        partial.replace(dst)
    finally:
        partial.unlink(missing_ok=True)
    return summary(seen)
