"""Find what a user names by id or by label: pipelines, stages and enumeration options.

Users type what HubSpot's UI shows (a label: `High`, `Closed`) as often as what its API stores
(an id or an option's value: `HIGH`, `4`). A name is looked up as the id, then the exact label,
then the id or label in any letter case; a name that fits several items names none of them, so
a guess never writes the wrong one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class Named(Protocol):
    """Something with an id HubSpot stores and a label its UI shows."""

    @property
    def id(self) -> str:
        """Return what HubSpot stores."""
        ...

    @property
    def label(self) -> str:
        """Return what HubSpot's UI shows."""
        ...


N = TypeVar("N", bound=Named)


def matching(items: Sequence[N], value: str) -> list[N]:
    """Return the items `value` names: by id, else exact label, else id or label in any case.

    One item is an answer; several are an ambiguity for the caller to name; none, a miss.
    """
    by_id = [item for item in items if item.id == value]
    if by_id:
        return by_id[:1]
    exact = [item for item in items if item.label == value]
    if exact:
        return exact
    folded = value.casefold()
    return [
        item for item in items if item.id.casefold() == folded or item.label.casefold() == folded
    ]


def find_named(items: Sequence[N], value: str) -> N | None:
    """Return the one item `value` names (see `matching`), or None when none or several do."""
    found = matching(items, value)
    return found[0] if len(found) == 1 else None
