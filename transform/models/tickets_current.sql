-- One row per ticket, live and archived, with its pipeline and stage named.
select
    tickets.ticket_id,
    tickets.created_at,
    tickets.updated_at,
    tickets.is_archived,
    tickets.archived_at,
    tickets.pipeline_id,
    stages.pipeline_label,
    tickets.stage_id,
    stages.stage_label,
    stages.is_closed as stage_is_closed,
    tickets.hs_ticket_priority,
    tickets.hubspot_owner_id
    {%- for name in var('ticket_properties') if name not in ('hs_ticket_priority', 'hubspot_owner_id') %},
    tickets.{{ name }}
    {%- endfor %}
from {{ ref('stg_tickets') }} as tickets
left join {{ ref('stg_ticket_pipeline_stages') }} as stages
    on stages.pipeline_id = tickets.pipeline_id
    and stages.stage_id = tickets.stage_id
