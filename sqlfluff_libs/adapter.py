"""dbt's `adapter.dispatch` for sqlfluff's jinja templater: the models are linted as DuckDB
renders them, so a dispatched macro resolves to its `duckdb__` implementation, else its
`default__` one (both loaded from macros/ into the template's context)."""

from jinja2 import pass_context


@pass_context
def dispatch(context, macro_name: str, macro_namespace: str | None = None):
    for prefix in ("duckdb__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise KeyError(f"adapter.dispatch: no duckdb__ or default__ implementation of {macro_name}")
