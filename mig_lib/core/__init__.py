"""Shared core: the results contract, parameter validation, parameter tables, charts."""

from mig_lib.core.validation import (
    AnyOf,
    Bool,
    Check,
    Float,
    Int,
    ListOf,
    OneOf,
    OptionalPath,
    ParameterError,
    Shares,
    check_parameters,
)
from mig_lib.core.charts import PALETTE, setup_charts
from mig_lib.core.parameter_table import ParameterTable
from mig_lib.core.paths import DATA_DIR, REPO_ROOT, published_path
from mig_lib.core.results import (
    RECORD_MIME,
    clear_records,
    compare,
    load_published,
    read_records,
    record,
    record_all,
    record_columns,
    recorded,
    single_threaded_blas,
    write_records,
)

__all__ = [
    "AnyOf", "Bool", "Check", "Float", "Int", "ListOf", "OneOf", "OptionalPath", "ParameterError",
    "Shares", "check_parameters", "ParameterTable", "PALETTE", "setup_charts", "DATA_DIR", "REPO_ROOT", "published_path", "RECORD_MIME", "clear_records", "compare",
    "load_published", "read_records", "record", "record_all", "record_columns", "recorded", "single_threaded_blas", "write_records",
]
