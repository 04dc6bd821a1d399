-- One row: the latest event time in the warehouse. Open intervals, segments and
-- sessions are counted up to it ("as of" the data, not the run's clock).

with

events as (
    select event_timestamp from {{ ref('stg_agent_events') }}
),

final as (
    select max(event_timestamp) as data_horizon_at from events
)

select * from final
