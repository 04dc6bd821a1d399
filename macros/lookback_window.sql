{#- For an incremental model: the start of its look-back window, as a scalar subquery:
    `lookback_days` (dbt var) before the latest `column` already stored in {{ this }}
    (-infinity while it is empty). Late events and intervals left open last night fall in
    the window, so they are rebuilt. -#}
{% macro lookback_window_start(column) -%}
    (
        select coalesce(max({{ column }}), '-infinity'::timestamptz)
            - to_days({{ var('lookback_days') }})
        from {{ this }}
    )
{%- endmacro %}
