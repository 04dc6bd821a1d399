"""dbt's cross-database macros (`dbt.hash`, ...) for sqlfluff's jinja templater.

sqlfluff renders the models without dbt; its dbt builtins cover ref, source, var, this and
is_incremental, and this module stands in for the `dbt` namespace that the project's
macros call, rendering what dbt-duckdb renders.
"""


def hash(field: str) -> str:
    return f"md5(cast({field} as varchar))"


def concat(fields: list[str]) -> str:
    return " || ".join(fields)


def cast(field: str, type: str) -> str:
    return f"cast({field} as {type})"


def type_string() -> str:
    return "varchar"
