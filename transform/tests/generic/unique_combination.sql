{#- Fails with each combination of `columns` that more than one row holds. -#}
{% test unique_combination(model, columns, column_name=none) %}
select {{ columns | join(', ') }}, count(*) as rows_with_it
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
