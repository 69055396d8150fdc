"""Command line: run the emulator until SIGINT or SIGTERM.

The first line on stdout is always `listening on http://HOST:PORT`, flushed at once, so a
parent process can wait for it and read the port (useful with `--port 0`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from hubspot_emulator.config import EmulatorConfig
from hubspot_emulator.faults import LIST_CURSOR_FAULTS
from hubspot_emulator.hostile import HOSTILE_KINDS
from hubspot_emulator.server import EmulatorServer

_DEFAULTS = EmulatorConfig()


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults, except empty ones that would only say `None` or `[]`."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.default == []:
            return action.help
        return super()._get_help_string(action)


def _client(value: str) -> tuple[str, str]:
    client_id, sep, secret = value.partition(":")
    if not sep or not client_id or not secret:
        raise argparse.ArgumentTypeError("expected CLIENT_ID:CLIENT_SECRET")
    return client_id, secret


def _whole_number(value: str, low: int, high: int | None, meaning: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < low or (high is not None and number > high):
        raise argparse.ArgumentTypeError(meaning)
    return number


def _one_of(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}")
    return value


def _portal_id(value: str) -> int:
    return _whole_number(value, 1, None, "a portal id is a positive number")


def _fault_status(value: str) -> int:
    return _whole_number(value, 400, 599, "a fault status is an error status, 400 to 599")


def _list_cursor_fault(value: str) -> str:
    return _one_of(value, LIST_CURSOR_FAULTS)


def _hostile_kind(value: str) -> str:
    return _one_of(value, HOSTILE_KINDS)


_SWITCH = None  # the type of an option that takes no value


@dataclass(frozen=True)
class _Option:
    """One flag and the `EmulatorConfig` field it fills; its default is the field's."""

    field: str
    help: str
    type: Callable[[str], Any] | None = str  # None: a switch, true when given
    metavar: str | None = None
    # A repeatable flag names one item (`--refresh-token`); the field holds them all.
    item_flag: str | None = None

    @property
    def flag(self) -> str:
        """Return the option string, `--` and the field name in kebab case."""
        return self.item_flag or "--" + self.field.replace("_", "-")

    def reading(self) -> dict[str, Any]:
        """Return how argparse reads this flag: a switch, one item per use, or one value."""
        if self.type is _SWITCH:
            return {"action": "store_true"}
        if self.item_flag:
            return {"action": "append", "type": self.type, "metavar": self.metavar}
        default = getattr(_DEFAULTS, self.field)
        return {"type": self.type, "default": default, "metavar": self.metavar}


_OPTIONS: tuple[_Option, ...] = (
    _Option("host", "interface to listen on"),
    _Option("port", "port to listen on; 0 picks a free one", int),
    _Option(
        "portal_id",
        "the account's portal id, as account details and OAuth token metadata give it",
        _portal_id,
        "ID",
    ),
    _Option("tickets", "tickets to seed", int, "N"),
    _Option("seed", "seed for data and faults", int, "S"),
    _Option("load", "load tickets from a JSONL file in the API's shape", str, "FILE"),
    _Option("token", "the private-app bearer token", str, "T"),
    _Option(
        "oauth_clients",
        "an OAuth app the token endpoint accepts (repeatable; default emulator-client:"
        "emulator-secret)",
        _client,
        "ID:SECRET",
        item_flag="--oauth-client",
    ),
    _Option(
        "refresh_tokens",
        "a refresh token the token endpoint accepts (repeatable; default "
        f"{_DEFAULTS.refresh_tokens[0]})",
        str,
        "TOKEN",
        item_flag="--refresh-token",
    ),
    _Option("token_lifetime_s", "lifetime of issued OAuth access tokens, in seconds", float),
    _Option("latency_ms", "added to every answer", float),
    _Option("jitter_ms", "latency varies uniformly within +- J of --latency-ms", float),
    _Option(
        "rate_limit_10s",
        "requests per rolling 10 s window per app (0 = off; HubSpot: 100, 190 or 250)",
        int,
        "N",
    ),
    _Option("search_rate_limit", "search requests per second (0 = off; HubSpot: 5)", int, "N"),
    _Option("daily_limit", "requests per day for the private app (0 = off)", int, "N"),
    _Option(
        "retry_after",
        "send Retry-After on 429 answers (HubSpot does not reliably send it)",
        _SWITCH,
    ),
    _Option(
        "fault_rate", "share of requests answered with an injected 429/502/503/504/423", float, "R"
    ),
    _Option("drop_rate", "share of requests whose connection is closed with no answer", float, "R"),
    _Option(
        "fault_paths",
        "limit --fault-rate and --drop-rate to request paths matching this shell-style pattern, "
        "e.g. '/crm/v4/associations/tickets/deals/*' (repeatable; default every path)",
        str,
        "PATTERN",
        item_flag="--fault-path",
    ),
    _Option(
        "fault_statuses",
        "answer injected faults with this status, e.g. 403 (a missing scope, not retried) "
        "(repeatable; default 429/502/503/504, and 423 on writes)",
        _fault_status,
        "STATUS",
        item_flag="--fault-status",
    ),
    _Option(
        "apply_then_drop_rate",
        "share of writes applied, then left unanswered (connection closed)",
        float,
        "R",
    ),
    _Option("search_lag_ms", "how long writes stay invisible to search", float),
    _Option(
        "search_hidden_ids",
        "a ticket search counts in `total` but leaves out of its results (repeatable)",
        int,
        "ID",
        item_flag="--hide-from-search",
    ),
    _Option(
        "required_properties",
        "a property an admin made required, checked on 2026-09 writes (repeatable)",
        str,
        "NAME",
        item_flag="--required-property",
    ),
    _Option(
        "max_uri_length",
        "longest request URI (path and query) before answering 414",
        int,
        "N",
    ),
    _Option(
        "whole_batch_errors",
        "fail a batch write whole on any bad input, even with objectWriteTraceId",
        _SWITCH,
    ),
    _Option(
        "clock_offset_s",
        "run the emulator's clock S seconds ahead of this machine's (negative: behind); "
        "shifts every timestamp it serves and its Date header",
        float,
        "S",
    ),
    _Option(
        "list_cursor_fault",
        "break the tickets list's paging cursor (live and archived): from the second page on, "
        "`repeat` serves each page again, `cycle` alternates the pages after the second with "
        "it, each under a fresh cursor string",
        _list_cursor_fault,
        "|".join(LIST_CURSOR_FAULTS),
    ),
    _Option(
        "hostile_answer",
        f"answer matching requests in a way HubSpot never does: {', '.join(HOSTILE_KINDS)}",
        _hostile_kind,
        "KIND",
    ),
    _Option(
        "hostile_answer_on",
        "which requests get --hostile-answer: a glob over 'METHOD /path' (repeatable; "
        "default every API request)",
        str,
        "PATTERN",
        item_flag="--hostile-answer-on",
    ),
    _Option("hostile_answer_times", "only the first N matching requests (0 = all)", int, "N"),
    _Option("hostile_answer_mb", "decoded size of the huge and gzip-bomb answers", float, "MB"),
    _Option("hostile_trickle_s", "seconds between the bytes of a trickle answer", float, "S"),
)


def build_parser() -> argparse.ArgumentParser:
    """Describe every option; each one maps to a field of `EmulatorConfig`."""
    parser = argparse.ArgumentParser(
        prog="hubspot-emulator",
        description="Serve a local, stateful stand-in for HubSpot's CRM ticket APIs.",
        formatter_class=_HelpFormatter,
    )
    for option in _OPTIONS:
        parser.add_argument(option.flag, dest=option.field, help=option.help, **option.reading())
    parser.add_argument("--verbose", action="store_true", help="log one line per request to stderr")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """Turn parsed options into an `EmulatorConfig`."""
    fields: dict[str, Any] = {}
    for option in _OPTIONS:
        value = getattr(args, option.field)
        default = getattr(_DEFAULTS, option.field)
        if option.item_flag:
            # The items given, collected the way the field holds them (a dict, a tuple).
            value = default if value is None else type(default)(value)
        fields[option.field] = value
    return EmulatorConfig(**fields)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGINT or SIGTERM; return the exit status."""
    args = build_parser().parse_args(argv)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Handlers go in before the (possibly slow) seeding so an early signal still exits cleanly.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    server = EmulatorServer(config_from_args(args), verbose=args.verbose)
    if stop.is_set():
        return 0
    try:
        server.start()
    except OSError as exc:
        sys.stderr.write(f"hubspot-emulator: cannot listen on {args.host}:{args.port}: {exc}\n")
        return 1
    try:
        sys.stdout.write(f"listening on {server.url}\n")
        sys.stdout.flush()
        # A timed wait lets the signal handler run promptly on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
