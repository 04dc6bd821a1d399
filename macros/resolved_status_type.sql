{#- An agent status's type: AgentStatus.Type when present; otherwise (older records) by
    name: Available is ROUTABLE, Offline is OFFLINE, any other name is CUSTOM. -#}
{% macro resolved_status_type(type_column, name_column) -%}
    coalesce(
        nullif(upper({{ type_column }}), ''),
        case lower({{ name_column }})
            when 'available' then 'ROUTABLE'
            when 'offline' then 'OFFLINE'
            else 'CUSTOM'
        end
    )
{%- endmacro %}
