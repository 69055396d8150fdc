-- One row per ticket, live and archived, under the models' column names; timestamps in UTC.
select
    tickets.id as ticket_id,
    {{ to_utc('tickets.created_at') }} as created_at,
    {{ to_utc('tickets.updated_at') }} as updated_at,
    coalesce(tickets.archived, false) as is_archived,
    case when tickets.archived then {{ to_utc('tickets.archived_at') }} end as archived_at,
    nullif(tickets.hs_pipeline, '') as pipeline_id,
    nullif(tickets.hs_pipeline_stage, '') as stage_id,
    nullif(tickets.hs_ticket_priority, '') as hs_ticket_priority,
    nullif(tickets.hubspot_owner_id, '') as hubspot_owner_id
    {%- for name in var('ticket_properties') if name not in ('hs_ticket_priority', 'hubspot_owner_id') %},
    tickets.{{ name }}
    {%- endfor %}
from {{ source('hubspot', 'tickets') }} as tickets
