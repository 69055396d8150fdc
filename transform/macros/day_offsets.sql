{#- The integers 0 .. 10^digits - 1 as a column `day_offset`, built from a ten-row list
    cross-joined with itself: portable, and no recursion. The default, 5 digits, covers any
    span up to 273 years. Join it on `day_offset <= <days between two dates>` for a date spine. -#}

{% macro day_offsets(digits=5) -%}
  {%- set units = [] -%}
  {%- for position in range(digits) -%}
    {%- do units.append('d' ~ position ~ '.n * ' ~ (10 ** position)) -%}
  {%- endfor -%}
  select {{ units | join(' + ') }} as day_offset
  from
  {%- for position in range(digits) %}
    (
      {%- for n in range(10) %}
      select {{ n }} as n{% if not loop.last %} union all{% endif %}
      {%- endfor %}
    ) as d{{ position }}{% if not loop.last %} cross join{% endif %}
  {%- endfor %}
{%- endmacro %}
