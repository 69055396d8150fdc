-- One row per ticket per calendar day (UTC), from the day it was created until the day it
-- was archived or the day of as_of: its pipeline, stage, priority and owner as of the end of
-- that day (for the day of as_of: as of as_of).
--
-- Incremental: a run rebuilds the last daily_history_lookback_days days it holds and adds the
-- days since (the pre-hook deletes the days it rebuilds). Changes the history gains for older
-- days (a tap full refresh, a property newly added to history_properties) need
-- `dbt run --full-refresh --select ticket_daily_history`.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ daily_history_rebuild_window() }}"
) }}

with tickets as (
    select
        ticket_id,
        pipeline_id,
        created_at,
        {{ dbt.datediff('created_at', 'coalesce(archived_at, ' ~ as_of() ~ ')', 'day') }} as last_day_offset
    from {{ ref('stg_tickets') }}
    where created_at <= {{ as_of() }}
),

offsets as (
    select day_offset
    from ({{ day_offsets() }}) as all_offsets
    where day_offset <= (select max(last_day_offset) from tickets)
),

ticket_days as (
    select
        tickets.ticket_id,
        tickets.pipeline_id as current_pipeline_id,
        cast({{ dbt.dateadd('day', 'offsets.day_offset', to_day('tickets.created_at')) }} as date) as date_day
    from tickets
    inner join offsets
        on offsets.day_offset <= tickets.last_day_offset
),

new_days as (
    select *
    from ticket_days
    {% if is_incremental() -%}
    where date_day > (
        select coalesce(max(date_day), cast('1900-01-01' as date)) from {{ this }}
    )
    {%- endif %}
),

-- The last value each property took on each day it changed, valid until its next change.
last_of_day as (
    select
        ticket_id,
        property,
        {{ to_day('changed_at') }} as date_day,
        value,
        row_number() over (
            partition by ticket_id, property, {{ to_day('changed_at') }}
            order by changed_at desc
        ) as rank_in_day
    from {{ ref('stg_ticket_property_changes') }}
    where changed_at <= {{ as_of() }}
),

intervals as (
    select
        ticket_id,
        property,
        value,
        date_day as valid_from,
        -- A plain range (no "or is null") keeps the joins below hash joins on the ticket.
        coalesce(
            lead(date_day) over (partition by ticket_id, property order by date_day),
            cast('9999-12-31' as date)
        ) as valid_until
    from last_of_day
    where rank_in_day = 1
),

daily as (
    select
        new_days.ticket_id,
        new_days.date_day,
        case
            -- Before any recorded pipeline: the current one (as ticket_stage_periods does).
            when pipeline.ticket_id is null then new_days.current_pipeline_id
            else pipeline.value
        end as pipeline_id,
        stage.value as stage_id,
        priority.value as hs_ticket_priority,
        owner.value as hubspot_owner_id
    from new_days
    {%- for alias, property in [
        ('pipeline', 'hs_pipeline'),
        ('stage', 'hs_pipeline_stage'),
        ('priority', 'hs_ticket_priority'),
        ('owner', 'hubspot_owner_id'),
    ] %}
    left join intervals as {{ alias }}
        on {{ alias }}.ticket_id = new_days.ticket_id
        and {{ alias }}.property = '{{ property }}'
        and {{ alias }}.valid_from <= new_days.date_day
        and {{ alias }}.valid_until > new_days.date_day
    {%- endfor %}
)

select
    daily.ticket_id,
    daily.date_day,
    daily.pipeline_id,
    daily.stage_id,
    stages.stage_label,
    stages.is_closed as stage_is_closed,
    daily.hs_ticket_priority,
    daily.hubspot_owner_id
from daily
left join {{ ref('stg_ticket_pipeline_stages') }} as stages
    on stages.pipeline_id = daily.pipeline_id
    and stages.stage_id = daily.stage_id
