{%- set attributes = [
    'username', 'first_name', 'last_name',
    'hierarchy_level1_arn', 'hierarchy_level1_name',
    'hierarchy_level2_arn', 'hierarchy_level2_name',
    'hierarchy_level3_arn', 'hierarchy_level3_name',
    'hierarchy_level4_arn', 'hierarchy_level4_name',
    'hierarchy_level5_arn', 'hierarchy_level5_name',
    'routing_profile_arn',
] -%}

{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='window_replace',
        unique_key='agent_key',
        window_column='last_seen_at',
        stale_rows='valid_from >= {window_start}',
    )
}}

-- SCD type 2 of agents on username, names, hierarchy groups and routing profile, built
-- from event times: a new version starts at the first event showing a change.
--
-- Incremental: the observations within `lookback_days` of the latest stored one, and per
-- agent they touch the version in force at the window start, are re-versioned; the
-- stored versions of the window are replaced (strategy window_replace), so a version a
-- late event made redundant is deleted.

with

observations as (
    {{ scd2_observations(
        ref('int_agent_configuration_observations'), 'agent_arn', attributes
    ) }}
),

agent_versions as (
    {{ scd2_versions('observations', 'agent_arn', 'agent_key') }}
),

final as (
    select
        agent_key,
        agent_arn,
        regexp_extract(agent_arn, '/agent/([^/]+)$', 1) as agent_id,
        version_number,
        username,
        first_name,
        last_name,
        hierarchy_level1_arn,
        hierarchy_level1_name,
        hierarchy_level2_arn,
        hierarchy_level2_name,
        hierarchy_level3_arn,
        hierarchy_level3_name,
        hierarchy_level4_arn,
        hierarchy_level4_name,
        hierarchy_level5_arn,
        hierarchy_level5_name,
        routing_profile_arn,
        valid_from,
        valid_to,
        is_current,
        attributes_hash,
        last_seen_at
    from agent_versions
)

select * from final
