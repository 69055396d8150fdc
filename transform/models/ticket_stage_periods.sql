-- One row per ticket per visit to a stage, from the history of hs_pipeline_stage and
-- hs_pipeline.
--
-- A ticket's state is its (pipeline, stage) pair. Every instant at which either property
-- changed gives the state from then on; changes of both at one instant (a move to another
-- pipeline) are one step. An instant that leaves the state as it was (the same stage recorded
-- again) starts no visit: the visit goes on. A visit ends when the state next changes
-- (exited_at); the ticket's last visit has no exit and lasts until its archival or until
-- as_of. A ticket whose stage was cleared is in no stage until it gets one again.
with changes as (
    select ticket_id, property, changed_at, value
    from {{ ref('stg_ticket_property_changes') }}
    where property in ('hs_pipeline', 'hs_pipeline_stage')
      and changed_at <= {{ as_of() }}
),

instants as (
    select
        ticket_id,
        changed_at,
        max(case when property = 'hs_pipeline' then 1 else 0 end) as sets_pipeline,
        max(case when property = 'hs_pipeline' then value end) as pipeline_value,
        max(case when property = 'hs_pipeline_stage' then 1 else 0 end) as sets_stage,
        max(case when property = 'hs_pipeline_stage' then value end) as stage_value
    from changes
    group by ticket_id, changed_at
),

-- Carry each property's last value forward: an instant belongs to the group of the last
-- instant that set the property, whose value is the only one in the group.
grouped as (
    select
        instants.*,
        sum(sets_pipeline) over (
            partition by ticket_id order by changed_at rows between unbounded preceding and current row
        ) as pipeline_group,
        sum(sets_stage) over (
            partition by ticket_id order by changed_at rows between unbounded preceding and current row
        ) as stage_group
    from instants
),

states as (
    select
        grouped.ticket_id,
        grouped.changed_at,
        case
            -- No pipeline recorded yet: the history of hs_pipeline was not loaded, or began
            -- later; the ticket's current pipeline is the best knowledge.
            when grouped.pipeline_group = 0 then tickets.pipeline_id
            else max(grouped.pipeline_value) over (
                partition by grouped.ticket_id, grouped.pipeline_group
            )
        end as pipeline_id,
        max(grouped.stage_value) over (
            partition by grouped.ticket_id, grouped.stage_group
        ) as stage_id
    from grouped
    inner join {{ ref('stg_tickets') }} as tickets
        on tickets.ticket_id = grouped.ticket_id
),

steps as (
    select
        states.*,
        lag(pipeline_id) over (partition by ticket_id order by changed_at) as previous_pipeline_id,
        lag(stage_id) over (partition by ticket_id order by changed_at) as previous_stage_id,
        row_number() over (partition by ticket_id order by changed_at) as step_number
    from states
),

visits as (
    select
        ticket_id,
        pipeline_id,
        stage_id,
        changed_at as entered_at,
        lead(changed_at) over (partition by ticket_id order by changed_at) as exited_at
    from steps
    where step_number = 1
       or pipeline_id is distinct from previous_pipeline_id
       or stage_id is distinct from previous_stage_id
)

select
    visits.ticket_id,
    visits.pipeline_id,
    stages.pipeline_label,
    visits.stage_id,
    stages.stage_label,
    stages.is_closed as stage_is_closed,
    row_number() over (
        partition by visits.ticket_id, visits.pipeline_id, visits.stage_id
        order by visits.entered_at
    ) as visit_number,
    visits.entered_at,
    visits.exited_at,
    {{ dbt.datediff(
        'visits.entered_at',
        'coalesce(visits.exited_at, tickets.archived_at, ' ~ as_of() ~ ')',
        'second'
    ) }} as seconds_in_stage,
    visits.exited_at is null as is_current,
    tickets.is_archived
from visits
inner join {{ ref('stg_tickets') }} as tickets
    on tickets.ticket_id = visits.ticket_id
left join {{ ref('stg_ticket_pipeline_stages') }} as stages
    on stages.pipeline_id = visits.pipeline_id
    and stages.stage_id = visits.stage_id
where visits.stage_id is not null
