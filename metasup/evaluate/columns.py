"""pandas columns as numpy arrays, for the evaluation's vectorized code (reconcile and metrics).

The loader's text columns are pandas strings stored by pyarrow; these helpers read them through
pyarrow when they can, so no Python object is made per row.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NO_GROUP = -1
"""Group code of a row that belongs to no group (a missing agent name)."""


def is_arrow_text(dtype: object) -> bool:
    """pandas strings stored by pyarrow (the loader's ``str`` columns)."""
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def codes(index: pd.Index, values: pd.Series) -> IntArray:
    """Position of each value in ``index``; a missing value gets ``NO_GROUP``."""
    if len(values) == 0:
        return np.empty(0, dtype=np.int64)
    if is_arrow_text(values.dtype) and index.is_unique and all(isinstance(name, str) for name in index):
        # Looked up by pyarrow on the arrow strings: no Python object per row (a loop per name only).
        strings = pa.array(values.array)
        try:
            names = pa.array(list(index), type=strings.type)
        except (pa.ArrowException, UnicodeEncodeError):
            names = None  # a name arrow cannot hold (a lone surrogate) cannot be in arrow data anyway
        if names is not None:
            found = pc.index_in(strings, value_set=names).fill_null(NO_GROUP)
            return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.asarray(index.get_indexer(pd.Index(values, dtype=object)), dtype=np.int64)
