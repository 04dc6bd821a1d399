{#- An aggregate over an entity's observations (rows with observed_at, snapshot_order and
    event_id): the value of `column` in its latest (or earliest) observation, skipping the
    observations where it is NULL unless ignore_nulls is false. Two snapshots of one event
    are ordered previous before current; event_id breaks the remaining ties. -#}
{% macro observed_value(column, which='latest', ignore_nulls=true) -%}
    {%- if which not in ('latest', 'earliest') -%}
        {{ exceptions.raise_compiler_error("observed_value: which is 'latest' or 'earliest', not '" ~ which ~ "'") }}
    {%- endif -%}
    {{ (arg_max if which == 'latest' else arg_min)(column, ['observed_at', 'snapshot_order', 'event_id']) }}
    {%- if ignore_nulls %} filter (where {{ column }} is not null){% endif -%}
{%- endmacro %}
