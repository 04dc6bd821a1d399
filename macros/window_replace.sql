{#- Incremental strategy `window_replace` (config incremental_strategy='window_replace'):
    delete+insert that also removes the stored rows inside the rebuilt window. It deletes
    every stored row whose unique_key the night rebuilt AND every stored row matching the
    model's `stale_rows` config (a predicate over the stored rows: the look-back window,
    whose rows the model always rebuilds; `{window_start}` in it stands for
    lookback_window_start(window_column), rendered here, at run time, since `this` is not
    yet the model's table when its config is parsed), then inserts the rebuilt rows. A row whose key
    moved (late data changed a session's login or an interval's start) is thereby dropped
    instead of kept beside its replacement. `stale_rows` is evaluated before anything is
    deleted, against the same stored rows the model's select read. -#}
{% macro get_incremental_window_replace_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set stale_rows = config.require('stale_rows') | replace(
        '{window_start}', lookback_window_start(config.require('window_column'))
    ) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where ({{ unique_key }}) in (select ({{ unique_key }}) from {{ source }})
        or ({{ stale_rows }});

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{% endmacro %}
