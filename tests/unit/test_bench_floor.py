"""The benchmark floor: the fewest seconds HubSpot's budgets and latency allow a sync."""

from __future__ import annotations

import pytest

from benchmarks.floor import (
    Budgets,
    Workload,
    budget_seconds,
    chain_seconds,
    floor,
    two_ended,
    versus_floor,
)


@pytest.mark.parametrize(
    ("calls", "expected"),
    [(0, 0.0), (1, 0.15), (190, 0.15), (191, 10.15), (380, 10.15), (381, 20.15)],
    ids=["none", "one", "one-burst", "one-over", "two-bursts", "three-bursts"],
)
def test_a_budget_sends_a_full_burst_per_window(calls, expected):
    assert budget_seconds(calls, 190, 10.0, 0.15) == pytest.approx(expected)


def test_no_budget_sends_everything_at_once():
    assert budget_seconds(5_000, 0, 10.0, 0.2) == pytest.approx(0.2)


def test_a_chain_costs_a_round_trip_per_page_or_its_budget_whichever_is_more():
    assert chain_seconds(10, 0.15) == pytest.approx(1.5)
    # 30 searches at 5 a second: the sixth burst leaves at 5 s.
    assert chain_seconds(30, 0.15, 5, 1.0) == pytest.approx(5.15)
    # Slow answers: the chain, not the budget, binds.
    assert chain_seconds(30, 0.5, 5, 1.0) == pytest.approx(15.0)
    assert chain_seconds(0, 0.15, 5, 1.0) == 0.0


def test_a_first_sync_splits_the_walk_between_list_and_search():
    plan = floor(Workload(tickets=10_000, latency_s=0.15))
    # 40 list pages (6.0 s) up, 30 search pages (5.15 s) down.
    assert (plan.list_pages, plan.search_pages) == (40, 30)
    assert plan.seconds == pytest.approx(6.0)


def test_the_split_beats_either_walk_alone():
    work = Workload(tickets=10_000, latency_s=0.15)
    both = floor(work).seconds
    assert both < chain_seconds(100, 0.15)  # list alone: 15 s
    assert both < chain_seconds(50, 0.15, 5, 1.0)  # search alone: 9.15 s


def test_every_page_of_the_portal_is_covered():
    plan = floor(Workload(tickets=12_345, latency_s=0.1))
    assert plan.list_pages * 100 + plan.search_pages * 200 >= 12_345


def test_history_and_associations_add_one_round_trip_after_the_walk():
    bare = floor(Workload(tickets=10_000, latency_s=0.15))
    every = floor(
        Workload(tickets=10_000, latency_s=0.15, history=True, association_types=3, fixed_calls=2)
    )
    assert every.seconds == pytest.approx(bare.seconds + 0.15)
    # 40 list pages, 100 history batch reads, 3 x 10 association reads, pipelines, properties.
    assert every.ordinary_calls == 40 + 100 + 30 + 2


def test_the_ordinary_budget_binds_when_batch_reads_outnumber_a_window():
    plan = floor(Workload(tickets=50_000, latency_s=0.15, history=True))
    # At least 500 history reads: three windows of 190 before the last leaves.
    assert plan.ordinary_calls >= 500
    assert plan.seconds >= 20.15


def test_a_tight_budget_slows_the_list_too():
    tight = floor(Workload(tickets=10_000, latency_s=0.15), Budgets(ordinary_per_10s=10))
    assert tight.seconds > floor(Workload(tickets=10_000, latency_s=0.15)).seconds


def test_an_incremental_run_searches_only_its_changes():
    plan = floor(Workload(tickets=2_000, latency_s=0.15, incremental=True, portal_tickets=10_000))
    assert (plan.list_pages, plan.search_pages) == (0, 10)
    assert plan.seconds == pytest.approx(1.5)


def test_an_incremental_run_may_walk_the_portal_when_that_is_cheaper():
    many = Workload(tickets=9_000, latency_s=0.15, incremental=True, portal_tickets=9_100)
    assert floor(many).seconds == pytest.approx(two_ended(many, 9_100, Budgets()).seconds)
    assert floor(many).list_pages > 0


def test_no_latency_and_no_budgets_cost_nothing_but_bursts():
    plan = floor(Workload(tickets=100_000, latency_s=0.0), Budgets(0, 0))
    assert plan.seconds == 0.0


@pytest.mark.parametrize(
    ("wall", "floor_s", "expected"),
    [(6.84, 6.0, "1.14x (meets 1.15x)"), (7.0, 6.0, "1.17x (misses 1.15x)"), (1.0, 0.0, "-")],
    ids=["at-goal", "over-goal", "no-floor"],
)
def test_the_ratio_says_whether_it_meets_the_goal(wall, floor_s, expected):
    assert versus_floor(wall, floor_s) == expected


def test_an_incremental_run_with_associations_walks_the_portal_for_them():
    changes_only = floor(
        Workload(tickets=2_000, latency_s=0.15, incremental=True, portal_tickets=10_000)
    )
    with_associations = floor(
        Workload(
            tickets=2_000,
            latency_s=0.15,
            history=True,
            association_types=3,
            incremental=True,
            portal_tickets=10_000,
        )
    )
    # The full-table stream needs every id of the portal: as slow as a first sync's walk.
    assert with_associations.seconds >= floor(Workload(tickets=10_000, latency_s=0.15)).seconds
    assert with_associations.seconds > changes_only.seconds
