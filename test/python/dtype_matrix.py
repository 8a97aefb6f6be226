"""The pandas dtype matrix (issue #15): `python dtype_matrix.py DIR` writes one table per (dtype,
format) — a column "v" of that dtype — through to_feather (LZ4 default, ZSTD, uncompressed),
to_parquet (Snappy, ZSTD, gzip) and to_csv(index=False), and DIR/expected.json: for each file, the
values docs/params.md's mapping says a task receives, computed here from the same DataFrame, or
"refused" (the column cannot be taken; the reader must say how to convert it).
"""
import csv
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)


def iso(ts):
    if ts is None or ts is pd.NaT:
        return None
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + ".%09dZ" % (ts.value % 10**9)


def plain(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        return plain(v.item())
    if isinstance(v, (list, np.ndarray)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, pd.Timestamp):
        return iso(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


times = ["2024-02-29 12:00:00.123456789", None, "1970-01-01 00:00:00", "2001-09-09 01:46:40.5"]
DTYPES = {
    "int64": (pd.Series([0, -(2**53 - 1), 2**53 - 1, 7], dtype="int64"), None),
    "Int64": (pd.Series([1, None, -3, 4], dtype="Int64"), None),
    "float64_nan": (pd.Series([0.5, np.nan, -1e300, 2.0], dtype="float64"), None),
    "bool": (pd.Series([True, False, True, False], dtype="bool"), None),
    "boolean": (pd.Series([True, None, False, True], dtype="boolean"), None),
    "object_str": (pd.Series(["a", None, "ünïcødé ✓", ""], dtype="object"), None),
    "string_pyarrow": (pd.Series(["a", None, "b", ""], dtype="string[pyarrow]"), None),
    "str_default": (pd.Series(["x", None, "y", "z"]), None),
    "category": (pd.Series(["red", "green", None, "red"], dtype="category"), None),
    "datetime_ns": (pd.Series(pd.to_datetime(times, format="ISO8601")).astype("datetime64[ns]"), iso),
    "datetime_tz": (pd.Series(pd.to_datetime(times, format="ISO8601")).astype("datetime64[ns]").dt.tz_localize("Europe/Paris"), iso),
    "date_objects": (pd.Series([dt.date(2024, 2, 29), None, dt.date(1970, 1, 1), dt.date(1900, 1, 1)], dtype="object"), None),
    "timedelta": (pd.Series(pd.to_timedelta(["1s", None, "2 days", "3ms"])), "refused"),
    "lists": (pd.Series([[1, 2], [], None, [3]]), None),
    "dicts": (pd.Series([{"x": 1, "tag": "a"}, {"x": None, "tag": "b"}, None, {"x": 4, "tag": None}]), None),
}
FORMATS = {
    "feather_lz4": ("feather", lambda df, p: df.to_feather(p)),
    "feather_zstd": ("feather", lambda df, p: df.to_feather(p, compression="zstd")),
    "feather_uncompressed": ("feather", lambda df, p: df.to_feather(p, compression="uncompressed")),
    "parquet_snappy": ("parquet", lambda df, p: df.to_parquet(p, index=False)),
    "parquet_zstd": ("parquet", lambda df, p: df.to_parquet(p, index=False, compression="zstd")),
    "parquet_gzip": ("parquet", lambda df, p: df.to_parquet(p, index=False, compression="gzip")),
    "csv": ("csv", lambda df, p: df.to_csv(p, index=False)),
}

expected = {}
for dtype, (series, rule) in DTYPES.items():
    df = pd.DataFrame({"v": series})
    for fmt, (ext, write) in FORMATS.items():
        name = f"{dtype}.{fmt}.{ext}"
        write(df, out / name)
        if fmt == "csv":
            # CSV holds text: a task whose parameter is typed as anything gets the cells as written
            with open(out / name, newline="", encoding="utf-8") as f:
                cells = [row[0] for row in list(csv.reader(f))[1:]]
            expected[name] = {"values": [None if c == "" else c for c in cells]}
        elif rule == "refused":
            expected[name] = {"refused": True}
        else:
            convert = rule or plain
            expected[name] = {"values": [None if (v is None or v is pd.NaT or v is pd.NA) else convert(v) for v in series.astype(object)]}

# a non-default index: pandas keeps it as a column of its own, which the reader names as an index
indexed = pd.DataFrame({"v": [1, 2, 3]}, index=pd.Index([10, 20, 30]))
indexed.to_parquet(out / "indexed.parquet_snappy.parquet")
expected["indexed.parquet_snappy.parquet"] = {"refused": True, "index": True}
indexed.to_feather(out / "indexed.feather_lz4.feather")
expected["indexed.feather_lz4.feather"] = {"refused": True, "index": True}

(out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1))
print(len(expected), "files")
