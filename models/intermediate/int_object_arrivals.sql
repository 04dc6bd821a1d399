-- One row per object in the ingest manifest (objects rejected whole included), with the
-- UTC hour it arrived at Firehose: the key's YYYY/MM/DD/HH/ folder, else the
-- yyyy-MM-dd-HH-mm-ss stamp of the Firehose file name, else the hour of the earliest
-- event time among its records (NULL when the object has neither a dated key nor records).

with

objects as (
    select source_object, records, rejected
    from {{ source('connect', 'ingested_objects') }}
),

key_times as (
    select
        *,
        {{ try_parse_utc_timestamp(
            "nullif(regexp_extract(source_object, '([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})/[^/]*$', 1), '')",
            '%Y/%m/%d/%H'
        ) }} as folder_hour,
        {{ try_parse_utc_timestamp(
            "nullif(regexp_extract(source_object, "
            ~ "'([0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2})-[^/]*$', 1), '')",
            '%Y-%m-%d-%H-%M-%S'
        ) }} as file_name_stamp
    from objects
),

undated_objects as (
    select source_object
    from key_times
    where folder_hour is null and file_name_stamp is null
),

undated_object_events as (
    select records.source_object, min(records.event_timestamp) as earliest_event_at
    from {{ source('connect', 'agent_events') }} as records
    inner join undated_objects on records.source_object = undated_objects.source_object
    group by records.source_object
),

final as (
    select
        key_times.source_object,
        key_times.records,
        key_times.rejected,
        coalesce(
            key_times.folder_hour,
            date_trunc('hour', key_times.file_name_stamp),
            date_trunc('hour', undated_object_events.earliest_event_at)
        ) as arrival_hour,
        case
            when key_times.folder_hour is not null then 'folder'
            when key_times.file_name_stamp is not null then 'file_name'
            when undated_object_events.earliest_event_at is not null then 'earliest_event'
        end as arrival_hour_source
    from key_times
    left join undated_object_events
        on key_times.source_object = undated_object_events.source_object
)

select * from final
