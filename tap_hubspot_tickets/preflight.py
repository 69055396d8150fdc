"""The tap's settings and catalog, checked against the portal before any data moves.

HubSpot ignores names it does not know: a mistyped history property or a property deleted since
the catalog was saved just reads as nothing, and the warehouse quietly misses a column's data.
So each name the settings or the catalog give is checked at the start of a sync, and each one
the portal does not have is reported by name, with the closest name it does have:

- `history_properties`: a name the portal lacks is warned about and not asked for; an error
  when `ticket_property_history` is selected and no name is left.
- A selected `tickets` property the portal lacks (a catalog saved before the property was
  deleted, a Meltano `schema` extra): a warning; its column stays null. Never an error: the
  base columns still say which tickets exist and which were deleted.
- `associations`: an object type the portal refuses (its labels call answers 400 or 404) is
  warned about and not read; an error when `ticket_associations` is selected and no type is
  left.

Object types are spelled as the API's plural (`contact` and `0-1` become `contacts`) before
anything else (`hubspot_api.objects`), so every row names its type one way. A Meltano `select`
naming a property the portal does not have never reaches the tap (Meltano matches patterns
against the discovered catalog only); what the tap sees is a selected `tickets` stream without
any property, which it reports.

The checks themselves are plain functions over names; `run_preflight` runs them all, asking the
portal through the function it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from hubspot_api.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    ValidationError,
    closest,
    did_you_mean,
)
from hubspot_api.objects import known_object_type_names, object_type_name
from hubspot_api.records import TICKETS_STREAM
from tap_hubspot_tickets.schemas import ASSOCIATIONS_STREAM, HISTORY_STREAM


def closest_hint(name: str, known: Iterable[str]) -> str:
    """Return `; did you mean 'x'?` for the known name closest to `name`, or ""."""
    close = closest(name, known)
    return f"; did you mean {close!r}?" if close else ""


@dataclass
class Findings:
    """What the checks found: lines to warn with, and the names left to use."""

    warnings: list[str] = field(default_factory=list)
    history_properties: tuple[str, ...] = ()
    associations: tuple[str, ...] = ()


def normalise_object_types(names: Iterable[str]) -> tuple[str, ...]:
    """Spell each object type as the API's plural; drop blanks and repeats, keep the order."""
    spelled = (object_type_name(str(name)) for name in names)
    return tuple(dict.fromkeys(name for name in spelled if name))


def check_history_properties(
    names: Sequence[str], known: Collection[str], *, selected: bool, findings: Findings
) -> None:
    """Keep the history properties the portal has; warn about the others (see the table)."""
    kept: list[str] = []
    for name in names:
        if name in known:
            kept.append(name)
            continue
        findings.warnings.append(
            f"history_properties: the portal has no ticket property {name!r}; its history is "
            f"not read{closest_hint(name, known)}"
        )
    findings.history_properties = tuple(kept)
    if selected:
        _require_some(
            kept, names, "history_properties", "a ticket property", HISTORY_STREAM, known=known
        )


def _require_some(
    kept: Sequence[str],
    names: Sequence[str],
    setting: str,
    what: str,
    stream: str,
    *,
    known: Iterable[str],
) -> None:
    """Refuse a selected stream whose setting named things, none of which the portal has.

    Each name carries the closest known one, as the warning for a single wrong name does.
    """
    if names and not kept:
        known = list(known)
        named = ", ".join(repr(n) + did_you_mean(n, known) for n in names)
        raise ConfigError(
            f"none of {setting} is {what} of this portal, so {stream} would be empty: "
            f"{named}; fix the setting or deselect the stream"
        )


def check_selected_properties(
    selected: Iterable[str], known: Collection[str], findings: Findings
) -> None:
    """Warn about each selected `tickets` column that is no property of the portal."""
    for name in selected:
        if name not in known:
            findings.warnings.append(
                f"stream {TICKETS_STREAM!r}: the catalog selects property {name!r}, which the "
                f"portal does not have; its column stays null{closest_hint(name, known)}"
            )


def check_some_property_selected(
    stream_selected: bool, selected_properties: Sequence[str], base_columns: Sequence[str]
) -> str | None:
    """Return a warning when `tickets` is selected without any property (only base columns)."""
    if not stream_selected or selected_properties:
        return None
    return (
        f"stream {TICKETS_STREAM!r} is selected without any of its properties: only "
        f"{', '.join(base_columns)} are emitted (does a select name properties the portal "
        f"does not have?)"
    )


# How the portal answered about one object type: known, unknown, or why it could not tell.
TypeProbe = Callable[[str], str]
KNOWN = "known"
UNKNOWN = "unknown"


def check_associations(
    names: Sequence[str], probe: TypeProbe, *, selected: bool, findings: Findings
) -> None:
    """Keep the object types the portal knows; warn about the others (see the table).

    `probe(name)` returns KNOWN, UNKNOWN, or a reason it could not tell (the type is kept).
    """
    kept: list[str] = []
    for name in names:
        answer = probe(name)
        if answer == UNKNOWN:
            hint = closest_hint(name, known_object_type_names())
            findings.warnings.append(
                f"associations: the portal has no object type {name!r}; its associations are "
                f"not read{hint}"
            )
            continue
        if answer != KNOWN:
            findings.warnings.append(
                f"associations: could not check object type {name!r} against the portal "
                f"({answer}); reading it anyway"
            )
        kept.append(name)
    findings.associations = tuple(kept)
    if selected:
        _require_some(
            kept,
            names,
            "associations",
            "an object type",
            ASSOCIATIONS_STREAM,
            known=known_object_type_names(),
        )


def probe_with(labels: Callable[[str], object]) -> TypeProbe:
    """Return a probe that asks the portal for the association labels tickets -> a type.

    HubSpot answers 400 (or 404) for an object type it does not know. Without the scope to
    read a type (401/403) the answer says nothing about the type; the read itself will tell.
    """

    def probe(name: str) -> str:
        try:
            labels(name)
        except (ValidationError, NotFoundError):
            return UNKNOWN
        except AuthError as exc:
            return str(exc)
        return KNOWN

    return probe


@dataclass(frozen=True)
class Selection:
    """What the catalog selects, as far as the checks care."""

    tickets: bool
    history: bool
    associations: bool
    # Selected columns of `tickets` other than its base columns (catalog order).
    ticket_properties: tuple[str, ...]


def run_preflight(
    *,
    history_properties: Sequence[str],
    associations: Sequence[str],
    property_names: Collection[str],
    base_columns: Sequence[str],
    selection: Selection,
    labels: Callable[[str], object],
) -> Findings:
    """Run every check (see the module docstring); raise `ConfigError` where nothing could run.

    `labels(type)` reads the association labels tickets -> type; it is called only for the
    types of a selected `ticket_associations`, once each.
    """
    findings = Findings()
    check_history_properties(
        history_properties, property_names, selected=selection.history, findings=findings
    )
    check_selected_properties(selection.ticket_properties, property_names, findings)
    empty = check_some_property_selected(
        selection.tickets, selection.ticket_properties, base_columns
    )
    if empty:
        findings.warnings.append(empty)
    types = normalise_object_types(associations)
    if selection.associations:
        check_associations(types, probe_with(labels), selected=True, findings=findings)
    else:
        findings.associations = types
    return findings
