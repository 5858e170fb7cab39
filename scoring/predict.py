"""Streaming batch scoring: application rows (CSV or Parquet, Kaggle schema) -> client id, PD, grade, decision at the
model threshold, and the lender's decision (scoring.decision.service): outcome, offer amount and annuity, fired
rule codes (';'-separated)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from scoring import progress
from scoring.bundle import ModelBundle
from scoring.shadow.run import shadow_batch
from scoring.tables import SCHEMAS, find_table, read_table

CHUNK_ROWS = 50_000
_APP = SCHEMAS["application_train"]  # with TARGET, which is read if present and ignored
_HISTORY = ("bureau", "previous_application", "POS_CASH_balance", "installments_payments", "credit_card_balance")


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise ValueError(f"{path}: unsupported file type; use .csv, .csv.gz or .parquet")


def _chunks(path: Path, chunk_rows: int):
    """Yield raw application chunks with schema dtypes; never holds more than one chunk."""
    if _kind(path) == "csv":
        header = pd.read_csv(path, nrows=0).columns
        _check_header(path, header)
        cols = [c for c in header if c in _APP]
        # read as text: _clean converts numbers so a bad value is reported with its column and line
        yield from pd.read_csv(
            path, usecols=cols, dtype=str, keep_default_na=False, na_values=[""], chunksize=chunk_rows
        )
    else:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        _check_header(path, pf.schema_arrow.names)
        cols = [c for c in pf.schema_arrow.names if c in _APP]
        for batch in pf.iter_batches(batch_size=chunk_rows, columns=cols):
            yield batch.to_pandas()


def _rows_known(path: Path) -> int | None:
    """Rows of a Parquet input from its footer; None for CSV (counting would read the file twice)."""
    if _kind(path) != "parquet":
        return None
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _check_header(path: Path, columns) -> None:
    if "SK_ID_CURR" not in set(columns):
        raise ValueError(f"{path}: column SK_ID_CURR is missing; expected application rows in the Kaggle schema")
    if not any(c in _APP and c not in ("SK_ID_CURR", "TARGET") for c in columns):
        raise ValueError(f"{path}: no application column recognised; expected the Kaggle application schema")


def _clean(chunk: pd.DataFrame, path: Path, first_row: int) -> pd.DataFrame:
    ids = pd.to_numeric(chunk["SK_ID_CURR"], errors="coerce")
    bad = ids.isna() | (ids != np.floor(ids))
    if bad.any():
        row = first_row + int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise ValueError(f"{path}: data row {row}: SK_ID_CURR must be a whole number")
    chunk = chunk.assign(SK_ID_CURR=ids.astype("int64")).drop(columns=["TARGET"], errors="ignore")
    for col, kind in _APP.items():
        if col in chunk and kind != "str" and col != "SK_ID_CURR":
            values = pd.to_numeric(chunk[col], errors="coerce")
            bad = (values.isna() & chunk[col].notna()).to_numpy()
            if bad.any():
                row = first_row + int(bad.argmax()) + 1
                value = chunk[col].iloc[bad.argmax()]
                raise ValueError(f"{path}: data row {row}: column {col} must be numeric, got {value!r}")
            chunk[col] = values.astype("float64")
    dup = chunk["SK_ID_CURR"].duplicated()
    if dup.any():
        raise ValueError(f"{path}: SK_ID_CURR {int(chunk['SK_ID_CURR'][dup].iloc[0])} appears twice")
    return chunk


def history_frames(data_dir, ids: np.ndarray) -> dict[str, pd.DataFrame]:
    """Rows of every history table present in data_dir that belong to these clients (filtered in DuckDB)."""
    if data_dir is None or not Path(data_dir).is_dir() or len(ids) == 0:
        return {}
    id_list = ",".join(str(int(i)) for i in ids)
    out = {}
    for name in _HISTORY:
        if find_table(data_dir, name) is not None:
            out[name] = read_table(data_dir, name, where=f"SK_ID_CURR IN ({id_list})")
    bureau = out.get("bureau")
    if bureau is not None and len(bureau) and find_table(data_dir, "bureau_balance") is not None:
        bureau_ids = ",".join(str(int(i)) for i in bureau["SK_ID_BUREAU"].unique())
        out["bureau_balance"] = read_table(data_dir, "bureau_balance", where=f"SK_ID_BUREAU IN ({bureau_ids})")
    return out


class _Writer:
    """Appends scored chunks to a temporary file renamed at the end: no half-written output."""

    def __init__(self, output: Path):
        self.output, self.kind = output, _kind(output)
        self.tmp = output.with_name(output.name + ".partial")
        self.parquet = None
        self.first = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == "csv":
            frame.to_csv(self.tmp, mode="w" if self.first else "a", header=self.first, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.tmp, table.schema)
            self.parquet.write_table(table)
        self.first = False

    def close(self, ok: bool) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if ok:
            if self.first:
                self.write(
                    pd.DataFrame(
                        {
                            "SK_ID_CURR": pd.Series(dtype="int64"),
                            "pd": pd.Series(dtype="float64"),
                            "grade": pd.Series(dtype=object),
                            "decision": pd.Series(dtype=object),
                            "outcome": pd.Series(dtype=object),
                            "offer_amount": pd.Series(dtype="float64"),
                            "offer_annuity": pd.Series(dtype="float64"),
                            "fired": pd.Series(dtype=object),
                        }
                    )
                )
                if self.parquet is not None:
                    self.parquet.close()
            self.tmp.replace(self.output)
        else:
            self.tmp.unlink(missing_ok=True)


def output_rows(ids: np.ndarray, decided) -> pd.DataFrame:
    """The output columns of scored rows (a scoring.decision.service.Decided), the same for every engine."""
    scored, lender = decided.scores, decided.decisions.summary()
    return pd.DataFrame(
        {
            "SK_ID_CURR": ids,
            "pd": scored["pd"].to_numpy(),
            "grade": scored["grade"].to_numpy(),
            "decision": scored["decision"].to_numpy(),
            "outcome": lender["outcome"].to_numpy(),
            "offer_amount": lender["offer_amount"].to_numpy(dtype="float64"),
            "offer_annuity": lender["offer_annuity"].to_numpy(dtype="float64"),
            "fired": lender["fired"].to_numpy(),
        }
    )


def predict_file(
    input,
    output,
    data_dir=None,
    models_dir="models",
    *,
    chunk_rows: int = CHUNK_ROWS,
    policy_path=None,
    recorder=None,
    store=None,
    scored_at: str | None = None,
) -> int:
    """Score and decide every application row of `input` into `output` (CSV or Parquet by extension) under the
    policy at `policy_path` (default SCORING_POLICY); returns rows scored. `recorder(bundle, decided, ids)` is
    called per chunk (scoring.monitoring.commands.BatchRecorder: the monitoring record), its `check()` once the
    bundle is verified. The registry's challenger, if any, decides the same rows, logged into `store` (SCORING_STORE
    when None) and dated `scored_at` (now when None), as the records are."""
    from scoring.decision import load_policy
    from scoring.decision.service import decide_records

    src, dst = Path(input), Path(output)
    if not src.exists():
        raise ValueError(f"input file {src} does not exist")
    _kind(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    bundle = ModelBundle.load(models_dir)
    policy = load_policy(policy_path, grades=bundle.grades)
    if recorder is not None:
        recorder.check()
    shadow = shadow_batch(models_dir, policy_path, store=store, scored_at=scored_at)
    writer = _Writer(dst)
    rows, ok = 0, False
    try:
        with progress.step("scoring and deciding", total=_rows_known(src), unit="rows") as done:
            for chunk in _chunks(src, chunk_rows):
                chunk = _clean(chunk, src, rows)
                ids = chunk["SK_ID_CURR"].to_numpy()
                decided = decide_records(bundle, policy, chunk, history_frames(data_dir, ids))
                if recorder is not None:
                    recorder(bundle, decided, ids)
                shadow.add(decided, ids)
                writer.write(output_rows(ids, decided))
                rows += len(chunk)
                done.update(len(chunk))
                shadow.write()
        ok = True
    finally:
        writer.close(ok)
    return rows
