-- SCD type 2 of agents on username, names, hierarchy groups and routing profile, built
-- from event times: a new version starts at the first event showing a change.

with

agent_versions as (
    {{ scd2_versions(ref('int_agent_configuration_observations'), 'agent_arn', 'agent_key') }}
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
        is_current
    from agent_versions
)

select * from final
