"""Writes the small pandas tables in test/fixtures/pandas/ (run once; the files are committed):
the same DataFrame as Feather (LZ4, the default) and Parquet (Snappy, the default; ZSTD; gzip),
and the values the documented mapping says a task receives, as JSON.

    python test/python/make_pandas_fixtures.py test/fixtures/pandas
"""
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
df = pd.DataFrame(
    {
        "start": np.arange(0, 50, 10, dtype="int64"),
        "count": pd.array([10, None, 30, 40, 50], dtype="Int64"),
        "weight": [0.5, float("nan"), -1.25, 1e300, 2.0],
        "flag": [True, False, True, False, True],
        "label": ["a", None, "ünïcødé ✓", "", "e"],
        "colour": pd.Categorical(["red", "green", None, "red", "blue"]),
        "when": pd.to_datetime(["2024-02-29 12:00:00.123456789", None, "1970-01-01 00:00:00", "2000-01-01 00:00:00", "1969-12-31 23:59:59"], format="ISO8601").astype("datetime64[ns]"),
        "day": [dt.date(2024, 2, 29), None, dt.date(1970, 1, 1), dt.date(2000, 1, 1), dt.date(1900, 1, 1)],
        "tags": [[1, 2], [], None, [3], [4, 5, 6]],
    }
)
df.to_feather(out / "small_lz4.feather")
df.to_parquet(out / "small_snappy.parquet", index=False)
df.to_parquet(out / "small_zstd.parquet", index=False, compression="zstd")
df.to_parquet(out / "small_gzip.parquet", index=False, compression="gzip", row_group_size=2)


def expected(value):
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_localize(None).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.value % 10**9:09d}Z" if value is not pd.NaT else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, np.ndarray)):
        return [expected(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


rows = []
for record in df.astype(object).to_dict("records"):
    rows.append({k: (None if v is pd.NaT else expected(v)) for k, v in record.items()})
(out / "small.expected.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
