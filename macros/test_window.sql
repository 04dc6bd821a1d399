{#- Data tests on the look-back window.

    dbt's `where` config of a data test filters the tested model, through this macro
    (dbt's own get_where_subquery, plus one placeholder). dbt_project.yml gives every data
    test `where: "__test_window__"`, which stands for the model's test window: its rows
    whose `meta.test_window` expression (set per model, e.g. started_at) lies within
    `test_window_days` (var, default 3, like lookback_days) of the expression's latest
    value: what the night rebuilt. A plain `dbt build` therefore tests the nightly window
    only; `--vars '{test_all_history: true}'` (connect-warehouse verify, make verify) tests
    every row. A model without meta.test_window, and a test that sets its own `where`, are
    not windowed. A view with `meta.tested_in_verify_only: true` (an intermediate view that
    computes over all history whatever the filter; the tables built from it test the same
    columns on their window) is tested on no row by the nightly build, and on every row by
    verify. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__test_window__' in where -%}
        {%- set where = where | replace('__test_window__', test_window_filter(relation)) -%}
    {%- endif -%}
    {%- if where and where != 'true' -%}
        {#- no alias (DuckDB needs none), so that tests may alias the model themselves -#}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }})
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#- The predicate of a model's test window (see get_where_subquery), or `true`. -#}
{% macro test_window_filter(relation) -%}
    {%- set found = namespace(expression=none, verify_only=false) -%}
    {%- if execute and not var('test_all_history', false) -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model'
                and node.alias == relation.identifier
                and node.schema == relation.schema -%}
                {%- set found.expression = node.config.meta.get('test_window') -%}
                {%- set found.verify_only = node.config.meta.get('tested_in_verify_only', false) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if found.verify_only -%}
        false
    {%- elif found.expression is none -%}
        true
    {%- else -%}
        {{ found.expression }} >= (
            select max({{ found.expression }}) from {{ relation }}
        ) - {{ days_interval(var('test_window_days', 3)) }}
    {%- endif -%}
{%- endmacro %}
