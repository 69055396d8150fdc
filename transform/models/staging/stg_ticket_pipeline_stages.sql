-- Every stage of every pipeline with its pipeline's label. Rows target-postgres soft-deleted
-- (stages gone from HubSpot: ACTIVATE_VERSION) are left out.
select
    stages.pipeline_id,
    stages.stage_id,
    pipelines.label as pipeline_label,
    stages.label as stage_label,
    stages.display_order,
    coalesce(stages.is_closed, false) as is_closed
from {{ source('hubspot', 'ticket_pipeline_stages') }} as stages
left join {{ source('hubspot', 'ticket_pipelines') }} as pipelines
    on pipelines.id = stages.pipeline_id
    and pipelines._sdc_deleted_at is null
where stages._sdc_deleted_at is null
