-- One row per ticket, property and instant at which the property changed: the value it held
-- from that instant on (null when it was cleared). The history's rows keep no order of their
-- own, so when one property records two values at the same instant (a workflow and a user in
-- one millisecond), the value the ticket holds now wins at the property's latest instant, and
-- the larger entry_key (an arbitrary but stable choice) at an earlier one.
with history as (
    select
        history.ticket_id,
        history.property,
        {{ to_utc('history.timestamp') }} as changed_at,
        nullif(history.value, '') as value,
        history.entry_key
    from {{ source('hubspot', 'ticket_property_history') }} as history
    where history.property in ('hs_pipeline', 'hs_pipeline_stage', 'hs_ticket_priority', 'hubspot_owner_id')
),

current_values as (
    select ticket_id, 'hs_pipeline' as property, pipeline_id as value from {{ ref('stg_tickets') }}
    union all
    select ticket_id, 'hs_pipeline_stage', stage_id from {{ ref('stg_tickets') }}
    union all
    select ticket_id, 'hs_ticket_priority', hs_ticket_priority from {{ ref('stg_tickets') }}
    union all
    select ticket_id, 'hubspot_owner_id', hubspot_owner_id from {{ ref('stg_tickets') }}
),

latest as (
    select
        history.*,
        max(history.changed_at) over (
            partition by history.ticket_id, history.property
        ) as latest_change_at
    from history
),

ranked as (
    select
        history.ticket_id,
        history.property,
        history.changed_at,
        history.value,
        row_number() over (
            partition by history.ticket_id, history.property, history.changed_at
            order by
                case
                    when history.changed_at = history.latest_change_at
                    and history.value = current_values.value
                    then 0 else 1
                end,
                history.entry_key desc
        ) as rank_at_instant
    from latest as history
    left join current_values
        on current_values.ticket_id = history.ticket_id
        and current_values.property = history.property
)

select ticket_id, property, changed_at, value
from ranked
where rank_at_instant = 1
