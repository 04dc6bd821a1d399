{#- A surrogate key: the MD5 of the fields' text joined with '|', built with dbt's
    cross-database helpers (hash, concat, cast, type_string). Each field is a SQL
    expression; a NULL field makes the key NULL, so a key column's not_null test names it.
    Timestamps go in as epoch_us(...) (the macro) so that the key does not depend on the session's
    time zone. -#}
{% macro surrogate_key(fields) -%}
    {%- set parts = [] -%}
    {%- for field in fields -%}
        {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
        {%- do parts.append(dbt.cast(field, dbt.type_string()) | trim) -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
