"""The one JSON reader and writer of result files: deterministic JSON (sorted keys, NaN as null)
written through a write-then-rename, and ``jsonable`` (plain JSON data from numpy values,
dataclasses, tuples and paths)."""

from __future__ import annotations

import json
import math
from dataclasses import is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthapt.config import to_dict
from synthapt.errors import FormatError
from synthapt.io.atomic import atomic_output


def read_json(path: str | Path) -> Any:
    """The JSON content of ``path``; FormatError if it cannot be read or parsed."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: not readable JSON ({exc})") from None


def write_json(path: str | Path, data: Any) -> None:
    """Deterministic JSON (sorted keys, NaN as null) through a write-then-rename."""
    text = json.dumps(jsonable(data), indent=2, sort_keys=True, allow_nan=False) + "\n"
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def jsonable(value: Any) -> Any:
    """Plain JSON data from numpy scalars/arrays, dataclasses, tuples, paths; non-finite
    floats -> None."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(to_dict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
