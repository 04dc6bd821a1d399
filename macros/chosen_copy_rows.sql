{#- The rows of a raw child table of events (contacts) that belong to the chosen
    copy of their event in stg_agent_events: a copy is identified by its source_object and
    byte_offset, so the children of the other Firehose copies are dropped. -#}
{% macro chosen_copy_rows(table_name) %}
    select children.*
    from {{ source('connect', table_name) }} as children
    inner join {{ ref('stg_agent_events') }} as chosen_copies
        on children.event_id = chosen_copies.event_id
        and children.source_object = chosen_copies.source_object
        and children.byte_offset = chosen_copies.byte_offset
{% endmacro %}
