{#- Fails with each row for which `condition` (a SQL boolean over the model's columns) is not
    true. -#}
{% test holds_for_every_row(model, condition, column_name=none) %}
select *
from {{ model }}
where not ({{ condition }})
{% endtest %}
