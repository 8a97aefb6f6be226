"""Writes the insert benchmark's table with pandas: `python write_bench_table.py ROWS DIR` makes
DIR/pandas.feather (to_feather: LZ4, the default) and DIR/pandas.parquet (to_parquet: Snappy)."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

rows, out = int(sys.argv[1]), Path(sys.argv[2])
ids = np.arange(rows, dtype="int64")
df = pd.DataFrame(
    {
        "id": ids,
        "seed": ((ids * 7919) % 100_003).astype("int32"),
        "name": [f"sample-{np.base_repr(i, 36).lower()}" for i in ids],
        "weight": ids / 7,
    }
)
df.to_feather(out / "pandas.feather")
df.to_parquet(out / "pandas.parquet", index=False)
