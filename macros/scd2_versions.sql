{#- SCD type 2 versions of an entity from its observations (a relation with entity_key,
    observed_at, event_id, attributes_hash, seen_until and prior_versions: see
    scd2_observations): one row per observation whose attributes_hash differs from the
    entity's previous observation, with every column of the observations plus
      version_key     the version's surrogate key (entity key, valid_from, attributes hash),
      version_number  1, 2, 3... per entity (after prior_versions stored versions),
      valid_from      the observation's time,
      valid_to        the next version's valid_from (NULL for the current one),
      is_current      whether it is the latest version,
      last_seen_at    on the current version, the entity's latest observation (NULL on
                      earlier versions): where the next night's look-back window starts. -#}
{% macro scd2_versions(observations, entity_key, version_key) %}
    select
        {{ surrogate_key([entity_key, epoch_us('observed_at'), 'attributes_hash']) }}
            as {{ version_key }},
        *,
        observed_at as valid_from,
        next_version_from as valid_to,
        next_version_from is null as is_current,
        case when next_version_from is null then entity_last_seen_at end as last_seen_at
    from (
        select
            *,
            entity_prior_versions + row_number() over entity_history as version_number,
            lead(observed_at) over entity_history as next_version_from
        from (
            select
                *,
                lag(attributes_hash) over entity_order as previous_attributes_hash,
                max(seen_until) over (partition by {{ entity_key }}) as entity_last_seen_at,
                max(prior_versions) over (partition by {{ entity_key }}) as entity_prior_versions
            from {{ observations }}
            window entity_order as (partition by {{ entity_key }} order by observed_at, event_id)
        )
        where previous_attributes_hash is distinct from attributes_hash
        window entity_history as (partition by {{ entity_key }} order by observed_at, event_id)
    )
{% endmacro %}


{#- The observations an SCD type 2 dimension is built from (for scd2_versions): on a full
    build every row of `observations`; incrementally, only those inside the look-back
    window (lookback_window_start on the stored last_seen_at) plus, for each entity they
    touch, the stored version in force at the window start as a seed observation (its
    valid_from and attributes; prior_versions keeps the numbering). Versions from the
    window start on are rebuilt from the seed and the window's observations, so late
    events inside the window reorder them as a full refresh does. `columns` are the
    versioned attributes, named alike in the observations and in the dimension. -#}
{% macro scd2_observations(observations, entity_key, columns) %}
    select
        {{ entity_key }},
        {{ columns | join(', ') }},
        attributes_hash,
        observed_at,
        event_id,
        observed_at as seen_until,
        0 as prior_versions
    from {{ observations }}
    {% if is_incremental() %}
    {%- set window_start = lookback_window_start('last_seen_at') %}
    where observed_at >= {{ window_start }}
    union all
    select
        {{ entity_key }},
        {{ columns | join(', ') }},
        attributes_hash,
        valid_from as observed_at,
        '' as event_id,
        last_seen_at as seen_until,
        version_number - 1 as prior_versions
    from {{ this }}
    where valid_from < {{ window_start }}
        and (valid_to is null or valid_to >= {{ window_start }})
        and {{ entity_key }} in (
            select {{ entity_key }} from {{ observations }}
            where observed_at >= {{ window_start }}
        )
    {% endif %}
{% endmacro %}
