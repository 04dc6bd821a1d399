{#- Cross-database SQL: each construct that DuckDB and Spark SQL spell differently, as a
    macro dispatched per adapter (adapter.dispatch: `default__` is DuckDB's spelling, the
    one the models had, so DuckDB's results do not change; `spark__` is Spark SQL's).
    dbt's own cross-database macros (dbt.hash, dbt.cast, dbt.type_string, ...) cover the
    rest. Where a spelling exists in both (interval literals, `filter (where ...)`,
    `qualify`, `x::double`), the models use it directly. -#}


{#- Microseconds since the epoch of a timestamp with time zone (a bigint). -#}
{% macro epoch_us(timestamp) -%}
    {{ return(adapter.dispatch('epoch_us', 'connect_agent_warehouse')(timestamp)) }}
{%- endmacro %}

{% macro default__epoch_us(timestamp) -%}
    epoch_us({{ timestamp }})
{%- endmacro %}

{% macro spark__epoch_us(timestamp) -%}
    unix_micros({{ timestamp }})
{%- endmacro %}


{#- An interval of `days` days, to add to or subtract from a timestamp. -#}
{% macro days_interval(days) -%}
    {{ return(adapter.dispatch('days_interval', 'connect_agent_warehouse')(days)) }}
{%- endmacro %}

{% macro default__days_interval(days) -%}
    to_days({{ days }})
{%- endmacro %}

{% macro spark__days_interval(days) -%}
    make_dt_interval({{ days }})
{%- endmacro %}


{#- The type of a UTC instant: DuckDB's timestamptz, Spark's timestamp (its session time
    zone is UTC in this project's profile). -#}
{% macro type_timestamptz() -%}
    {{ return(adapter.dispatch('type_timestamptz', 'connect_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__type_timestamptz() -%}
    timestamptz
{%- endmacro %}

{% macro spark__type_timestamptz() -%}
    timestamp
{%- endmacro %}


{#- The earliest and the latest instant, as open ends of ranges (DuckDB's -infinity and
    infinity; Spark has no infinite timestamps, so its first and last representable ones). -#}
{% macro timestamp_min() -%}
    {{ return(adapter.dispatch('timestamp_min', 'connect_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__timestamp_min() -%}
    '-infinity'::timestamptz
{%- endmacro %}

{% macro spark__timestamp_min() -%}
    timestamp '0001-01-01 00:00:00'
{%- endmacro %}

{% macro timestamp_max() -%}
    {{ return(adapter.dispatch('timestamp_max', 'connect_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__timestamp_max() -%}
    'infinity'::timestamptz
{%- endmacro %}

{% macro spark__timestamp_max() -%}
    timestamp '9999-12-31 23:59:59.999999'
{%- endmacro %}


{#- The earliest day, as the open end of a range of days (DuckDB's -infinity; on Spark the
    second representable day, so that its midnight is an instant in any time zone). -#}
{% macro date_min() -%}
    {{ return(adapter.dispatch('date_min', 'connect_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__date_min() -%}
    '-infinity'::date
{%- endmacro %}

{% macro spark__date_min() -%}
    date '0001-01-02'
{%- endmacro %}


{#- The wall-clock time in time zone `tz` (a quoted name) of a UTC instant (a timestamp
    without time zone; cast it to date for the local day). -#}
{% macro local_time(tz, instant) -%}
    {{ return(adapter.dispatch('local_time', 'connect_agent_warehouse')(tz, instant)) }}
{%- endmacro %}

{% macro default__local_time(tz, instant) -%}
    timezone({{ tz }}, {{ instant }})
{%- endmacro %}

{% macro spark__local_time(tz, instant) -%}
    from_utc_timestamp({{ instant }}, {{ tz }})
{%- endmacro %}


{#- The UTC instant of a wall-clock time (timestamp without time zone) in time zone `tz`:
    the inverse of local_time. -#}
{% macro instant_of_local_time(tz, local_timestamp) -%}
    {{ return(adapter.dispatch('instant_of_local_time', 'connect_agent_warehouse')(tz, local_timestamp)) }}
{%- endmacro %}

{% macro default__instant_of_local_time(tz, local_timestamp) -%}
    timezone({{ tz }}, {{ local_timestamp }})
{%- endmacro %}

{% macro spark__instant_of_local_time(tz, local_timestamp) -%}
    to_utc_timestamp({{ local_timestamp }}, {{ tz }})
{%- endmacro %}


{#- The UTC instant written in `text` with the strptime `format` (%Y %m %d %H %M %S), or
    NULL when it does not parse. -#}
{% macro try_parse_utc_timestamp(text, format) -%}
    {{ return(adapter.dispatch('try_parse_utc_timestamp', 'connect_agent_warehouse')(text, format)) }}
{%- endmacro %}

{% macro default__try_parse_utc_timestamp(text, format) -%}
    timezone('UTC', try_strptime({{ text }}, '{{ format }}'))
{%- endmacro %}

{% macro spark__try_parse_utc_timestamp(text, format) -%}
    {%- set pattern = format | replace('%Y', 'yyyy') | replace('%m', 'MM') | replace('%d', 'dd')
        | replace('%H', 'HH') | replace('%M', 'mm') | replace('%S', 'ss') -%}
    try_to_timestamp({{ text }}, '{{ pattern }}')
{%- endmacro %}


{#- The start of the `minutes`-minute bucket (aligned on the epoch, UTC) of an instant. -#}
{% macro time_bucket_minutes(minutes, instant) -%}
    {{ return(adapter.dispatch('time_bucket_minutes', 'connect_agent_warehouse')(minutes, instant)) }}
{%- endmacro %}

{% macro default__time_bucket_minutes(minutes, instant) -%}
    time_bucket(interval {{ minutes }} minute, {{ instant }})
{%- endmacro %}

{% macro spark__time_bucket_minutes(minutes, instant) -%}
    timestamp_micros(
        unix_micros({{ instant }}) - pmod(unix_micros({{ instant }}), {{ minutes * 60 * 1000000 }})
    )
{%- endmacro %}


{#- Set-returning: one row per value from `start` to `stop` by `step` (an interval), as a
    select-list expression. -#}
{% macro series_rows(start, stop, step) -%}
    {{ return(adapter.dispatch('series_rows', 'connect_agent_warehouse')(start, stop, step)) }}
{%- endmacro %}

{% macro default__series_rows(start, stop, step) -%}
    unnest(generate_series({{ start }}, {{ stop }}, {{ step }}))
{%- endmacro %}

{% macro spark__series_rows(start, stop, step) -%}
    explode(sequence({{ start }}, {{ stop }}, {{ step }}))
{%- endmacro %}


{#- Set-returning: one row per expression of `items` (a list of SQL expressions of one
    type), as a select-list expression. -#}
{% macro unnest_values(items) -%}
    {{ return(adapter.dispatch('unnest_values', 'connect_agent_warehouse')(items)) }}
{%- endmacro %}

{% macro default__unnest_values(items) -%}
    unnest([{{ items | join(', ') }}])
{%- endmacro %}

{% macro spark__unnest_values(items) -%}
    explode(array({{ items | join(', ') }}))
{%- endmacro %}


{#- A list literal with no element (cast it to the list type wanted), and the type of a list
    of strings. -#}
{% macro empty_list() -%}
    {{ return(adapter.dispatch('empty_list', 'connect_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__empty_list() -%}
    []
{%- endmacro %}

{% macro spark__empty_list() -%}
    array()
{%- endmacro %}

{% macro type_string_list() -%}
    {{ return(adapter.dispatch('type_string_list', 'connect_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__type_string_list() -%}
    varchar[]
{%- endmacro %}

{% macro spark__type_string_list() -%}
    array<string>
{%- endmacro %}


{#- Aggregate: the list of `value` ordered by `order_by` (NULL values kept). -#}
{% macro ordered_list(value, order_by) -%}
    {{ return(adapter.dispatch('ordered_list', 'connect_agent_warehouse')(value, order_by)) }}
{%- endmacro %}

{% macro default__ordered_list(value, order_by) -%}
    list({{ value }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_list(value, order_by) -%}
    transform(
        array_sort(collect_list(struct({{ order_by }} as sort_key, {{ value }} as element))),
        item -> item.element
    )
{%- endmacro %}


{#- Aggregate: the sorted list of the distinct non-NULL `value`s of the rows where
    `condition` holds (NULL when it holds on no row). -#}
{% macro sorted_distinct_list(value, condition) -%}
    {{ return(adapter.dispatch('sorted_distinct_list', 'connect_agent_warehouse')(value, condition)) }}
{%- endmacro %}

{% macro default__sorted_distinct_list(value, condition) -%}
    list(distinct {{ value }} order by {{ value }}) filter (where {{ condition }})
{%- endmacro %}

{% macro spark__sorted_distinct_list(value, condition) -%}
    case
        when count_if({{ condition }}) > 0
            then array_sort(collect_set(case when {{ condition }} then {{ value }} end))
    end
{%- endmacro %}


{#- Aggregate: the `value` of the row with the greatest (arg_max) or least (arg_min) `key`,
    a list of SQL expressions compared in order; rows whose value is NULL are skipped, as
    DuckDB's arg_max does. -#}
{% macro arg_max(value, key) -%}
    {{ return(adapter.dispatch('arg_extreme', 'connect_agent_warehouse')('max', value, key)) }}
{%- endmacro %}

{% macro arg_min(value, key) -%}
    {{ return(adapter.dispatch('arg_extreme', 'connect_agent_warehouse')('min', value, key)) }}
{%- endmacro %}

{% macro default__arg_extreme(which, value, key) -%}
    {%- if key is string -%}{%- set key = [key] -%}{%- endif -%}
    arg_{{ which }}({{ value }}, {% if key | length == 1 %}{{ key[0] }}{% else %}({{ key | join(', ') }}){% endif %})
{%- endmacro %}

{% macro spark__arg_extreme(which, value, key) -%}
    {%- if key is string -%}{%- set key = [key] -%}{%- endif -%}
    {{ which }}_by(
        {{ value }},
        case when {{ value }} is not null then {% if key | length == 1 %}{{ key[0] }}{% else %}struct({{ key | join(', ') }}){% endif %} end
    )
{%- endmacro %}


{#- Window function: the last non-NULL `value` of the window frame. -#}
{% macro last_non_null(value) -%}
    {{ return(adapter.dispatch('last_non_null', 'connect_agent_warehouse')(value)) }}
{%- endmacro %}

{% macro default__last_non_null(value) -%}
    last_value({{ value }} ignore nulls)
{%- endmacro %}

{% macro spark__last_non_null(value) -%}
    last_value({{ value }}, true)
{%- endmacro %}


{#- The MD5 (hex) of the JSON object of `fields` (a dict of key: SQL expression, in order;
    NULL values written as null), as DuckDB's to_json writes a struct. -#}
{% macro json_object_md5(fields) -%}
    {{ return(adapter.dispatch('json_object_md5', 'connect_agent_warehouse')(fields)) }}
{%- endmacro %}

{% macro default__json_object_md5(fields) -%}
    md5(to_json({
        {%- for key, value in fields.items() %}
        {{ key }}: {{ value }}{{ ',' if not loop.last }}
        {%- endfor %}
    })::varchar)
{%- endmacro %}

{% macro spark__json_object_md5(fields) -%}
    md5(to_json(named_struct(
        {%- for key, value in fields.items() %}
        '{{ key }}', {{ value }}{{ ',' if not loop.last }}
        {%- endfor %}
    ), map('ignoreNullFields', 'false')))
{%- endmacro %}


{#- A select of every column of `left` plus `right_value as alias`: the `right_value` (a
    column of `right` that is also its ordering column) of the row of `right` with the same
    `key` that comes last with `left_at op right_value` (op one of > >=), NULL when none:
    an as-of join for one column. -#}
{% macro asof_value(left, right, key, left_at, op, right_value, alias) -%}
    {{ return(adapter.dispatch('asof_value', 'connect_agent_warehouse')(left, right, key, left_at, op, right_value, alias)) }}
{%- endmacro %}

{% macro default__asof_value(left, right, key, left_at, op, right_value, alias) -%}
    select {{ left }}.*, {{ right }}.{{ right_value }} as {{ alias }}
    from {{ left }}
    asof left join {{ right }}
        on {{ left }}.{{ key }} = {{ right }}.{{ key }}
        and {{ left }}.{{ left_at }} {{ op }} {{ right }}.{{ right_value }}
{%- endmacro %}

{% macro spark__asof_value(left, right, key, left_at, op, right_value, alias) -%}
    {{ spark__asof_rows(left, right, key, left_at, op, right_value, right_value, alias) }}
{%- endmacro %}


{#- Spark's as-of join (it has none): the rows of `left` and of `right` in one sequence per
    `key`, by time (at equal times a right row comes first for op >=, last for op >), each
    left row taking `right_pick` of the last right row before it (a window, not a range
    join). Every column of `left`, then that pick as `alias`. -#}
{% macro spark__asof_rows(left, right, key, left_at, op, right_at, right_pick, alias) -%}
    {%- set left_side = 1 if op == '>=' else 0 -%}
    select asof_matched.left_row.*, asof_matched.asof_pick as {{ alias }}
    from (
        select
            left_row,
            asof_side,
            last_value(asof_candidate, true) over (
                partition by asof_key
                order by asof_at, asof_side, asof_candidate
                rows between unbounded preceding and current row
            ) as asof_pick
        from (
            select
                {{ left }}.{{ key }} as asof_key,
                {{ left }}.{{ left_at }} as asof_at,
                {{ left_side }} as asof_side,
                null as asof_candidate,
                struct({{ left }}.*) as left_row
            from {{ left }}
            union all
            select
                {{ right }}.{{ key }} as asof_key,
                {{ right }}.{{ right_at }} as asof_at,
                {{ 1 - left_side }} as asof_side,
                {{ right }}.{{ right_pick }} as asof_candidate,
                null as left_row
            from {{ right }}
        ) as asof_sequence
    ) as asof_matched
    where asof_matched.asof_side = {{ left_side }}
{%- endmacro %}


{#- The materialization of the nightly incremental models: incremental on both (Spark's
    strategies: macros/spark_incremental.sql). -#}
{% macro incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}


{#- The incremental strategy of the models rebuilt by whole days (their unique_key is the
    day): delete+insert of the rebuilt days on DuckDB; on Spark an insert_overwrite of their
    partitions, the table being partitioned by the day (whole_days_partition). -#}
{% macro whole_days_strategy() -%}
    {{ return(adapter.dispatch('whole_days_strategy', 'connect_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__whole_days_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__whole_days_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro whole_days_partition(day_column) -%}
    {{ return(adapter.dispatch('whole_days_partition', 'connect_agent_warehouse')(day_column)) }}
{%- endmacro %}

{% macro default__whole_days_partition(day_column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__whole_days_partition(day_column) -%}
    {{ return([day_column]) }}
{%- endmacro %}


{#- A select of every column of `left` plus `columns` (a select list over `right`) from
    the row of `right` with the same `key` that comes last by `right_at` with
    `left_at op right_at` (op one of > >=), NULL columns when none: an as-of left join.
    `right_id` identifies a row of `right` (Spark joins it back by it, and adds the
    matched id as a column, asof_<right>_id). -#}
{% macro asof_left_join(left, right, key, left_at, op, right_at, right_id, columns) -%}
    {{ return(adapter.dispatch('asof_left_join', 'connect_agent_warehouse')(left, right, key, left_at, op, right_at, right_id, columns)) }}
{%- endmacro %}

{% macro default__asof_left_join(left, right, key, left_at, op, right_at, right_id, columns) -%}
    select
        {{ left }}.*,
        {{ columns }}
    from {{ left }}
    asof left join {{ right }}
        on {{ left }}.{{ key }} = {{ right }}.{{ key }}
        and {{ left }}.{{ left_at }} {{ op }} {{ right }}.{{ right_at }}
{%- endmacro %}

{% macro spark__asof_left_join(left, right, key, left_at, op, right_at, right_id, columns) -%}
    select
        {{ left }}.*,
        {{ columns }}
    from (
        {{ spark__asof_rows(left, right, key, left_at, op, right_at, right_id, 'asof_' ~ right ~ '_id') }}
    ) as {{ left }}
    left join {{ right }} on {{ left }}.asof_{{ right }}_id = {{ right }}.{{ right_id }}
{%- endmacro %}
