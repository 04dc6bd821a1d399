-- One row per event: the agent's configuration (names, hierarchy groups, routing
-- profile) in its current snapshot, with a hash of the versioned attributes.

with

events as (
    select * from {{ ref('stg_agent_events') }}
),

final as (
    select
        agent_arn,
        event_id,
        event_timestamp as observed_at,
        current_username as username,
        current_first_name as first_name,
        current_last_name as last_name,
        current_hierarchy_level1_arn as hierarchy_level1_arn,
        current_hierarchy_level1_name as hierarchy_level1_name,
        current_hierarchy_level2_arn as hierarchy_level2_arn,
        current_hierarchy_level2_name as hierarchy_level2_name,
        current_hierarchy_level3_arn as hierarchy_level3_arn,
        current_hierarchy_level3_name as hierarchy_level3_name,
        current_hierarchy_level4_arn as hierarchy_level4_arn,
        current_hierarchy_level4_name as hierarchy_level4_name,
        current_hierarchy_level5_arn as hierarchy_level5_arn,
        current_hierarchy_level5_name as hierarchy_level5_name,
        current_routing_profile_arn as routing_profile_arn,
        {{ json_object_md5({
            'u': 'current_username',
            'f': 'current_first_name',
            'l': 'current_last_name',
            'h1': 'current_hierarchy_level1_arn', 'n1': 'current_hierarchy_level1_name',
            'h2': 'current_hierarchy_level2_arn', 'n2': 'current_hierarchy_level2_name',
            'h3': 'current_hierarchy_level3_arn', 'n3': 'current_hierarchy_level3_name',
            'h4': 'current_hierarchy_level4_arn', 'n4': 'current_hierarchy_level4_name',
            'h5': 'current_hierarchy_level5_arn', 'n5': 'current_hierarchy_level5_name',
            'rp': 'current_routing_profile_arn'
        }) }} as attributes_hash
    from events
    where current_username is not null or current_routing_profile_arn is not null
)

select * from final
