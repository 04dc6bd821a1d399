{#- Spark's incremental runs. Its tables are plain Parquet (no DELETE, no MERGE), so every
    incremental strategy of the models ends in an INSERT OVERWRITE:
    - `insert_overwrite` with `partition_by` (the models rebuilt by whole days, partitioned
      by their day): the rebuilt days' partitions are overwritten, the others kept, as
      DuckDB's delete+insert on the day does;
    - `delete+insert`, `merge` and `window_replace` (the models keyed by an id): the table is
      overwritten with the night's rows plus the stored rows whose unique_key the night did
      not rebuild (and, for window_replace, that its `stale_rows` do not match), which is
      what DuckDB's delete and insert leave.
    Either way the rows to write are first staged in a table of their own (`<model>__dbt_next`,
    dropped by the post-hook drop_incremental_staging), because the night's select reads the
    model's own table, which Spark does not overwrite while reading it. -#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy in ['delete+insert', 'window_replace']
        or (raw_strategy == 'merge' and file_format not in ['delta', 'iceberg', 'hudi']) -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{% endmacro %}


{#- dbt-spark's own SQL for a table format that has MERGE (Delta, Iceberg, Hudi): its merge
    and insert_overwrite; every other case the overwrite below. -#}
{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- set has_merge = existing.is_delta or existing.is_iceberg or existing.is_hudi -%}
    {%- if strategy in ['delete+insert', 'window_replace']
        or (strategy in ['merge', 'insert_overwrite'] and not has_merge) -%}
        {{ return(spark_overwrite_sql(strategy, source, target, unique_key)) }}
    {%- endif -%}
    {{ return(dbt.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates)) }}
{% endmacro %}


{#- Stages the rows to write (see above) and returns the INSERT OVERWRITE of them. -#}
{% macro spark_overwrite_sql(strategy, source, target, unique_key) %}
    {%- set staged = spark_staging_relation(target) -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | join(', ') -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- if strategy == 'insert_overwrite' and not config.get('partition_by') -%}
        {% do exceptions.raise_compiler_error('insert_overwrite needs partition_by on ' ~ target) %}
    {%- endif -%}
    {%- if strategy != 'insert_overwrite' and not keys -%}
        {% do exceptions.raise_compiler_error(strategy ~ ' needs a unique_key on ' ~ target) %}
    {%- endif -%}
    {% call statement('drop_staged') %}drop table if exists {{ staged }}{% endcall %}
    {% call statement('stage') %}
        create table {{ staged }} using parquet as
        select {{ columns }} from {{ source }}
        {%- if strategy != 'insert_overwrite' %}
        union all
        select {{ columns }} from {{ target }} as stored
        where not exists (
            select 1 from {{ source }} as rebuilt
            where {% for key in keys -%}
                rebuilt.{{ key }} = stored.{{ key }}{{ ' and ' if not loop.last }}
            {%- endfor %}
        )
        {%- if strategy == 'window_replace' %}
            and not coalesce(({{ config.require('stale_rows') | replace(
                '{window_start}', lookback_window_start(config.require('window_column'))
            ) }}), false)
        {%- endif %}
        {%- endif %}
    {% endcall %}
    insert overwrite table {{ target }}
    {{ partition_cols(label='partition') }}
    select {{ columns }} from {{ staged }}
{% endmacro %}


{% macro spark_staging_relation(target) -%}
    {{ return(target.incorporate(path={'identifier': target.identifier ~ '__dbt_next'})) }}
{%- endmacro %}


{#- Post-hook of every model: drops the staging table of a Spark incremental run. -#}
{% macro drop_incremental_staging() -%}
    {%- if target.type == 'spark' and config.get('materialized') == 'incremental' -%}
        drop table if exists {{ spark_staging_relation(this) }}
    {%- endif -%}
{%- endmacro %}
