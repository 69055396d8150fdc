"""Command line: run the emulator until SIGINT or SIGTERM.

The first line on stdout is always `listening on http://HOST:PORT`, flushed at once, so a
parent process can wait for it and read the port (useful with `--port 0`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from hubspot_emulator.config import DEFAULT_TOKEN, EmulatorConfig
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


def _portal_id(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("a portal id is a positive number")
    return number


def build_parser() -> argparse.ArgumentParser:
    """Describe every option; each one maps to a field of `EmulatorConfig`."""
    parser = argparse.ArgumentParser(
        prog="hubspot-emulator",
        description="Serve a local, stateful stand-in for HubSpot's CRM ticket APIs.",
        formatter_class=_HelpFormatter,
    )
    add = parser.add_argument
    add("--host", default=_DEFAULTS.host, help="interface to listen on")
    add("--port", type=int, default=_DEFAULTS.port, help="port to listen on; 0 picks a free one")
    add(
        "--portal-id",
        type=_portal_id,
        default=_DEFAULTS.portal_id,
        metavar="ID",
        help="the account's portal id, as account details and OAuth token metadata give it",
    )
    add("--tickets", type=int, default=_DEFAULTS.tickets, metavar="N", help="tickets to seed")
    add("--seed", type=int, default=_DEFAULTS.seed, metavar="S", help="seed for data and faults")
    add("--load", metavar="FILE", help="load tickets from a JSONL file in the API's shape")
    add("--token", default=DEFAULT_TOKEN, metavar="T", help="the private-app bearer token")
    add(
        "--oauth-client",
        action="append",
        type=_client,
        metavar="ID:SECRET",
        help="an OAuth app the token endpoint accepts (repeatable; default emulator-client:"
        "emulator-secret)",
    )
    add(
        "--refresh-token",
        action="append",
        metavar="TOKEN",
        help="a refresh token the token endpoint accepts (repeatable; default "
        f"{_DEFAULTS.refresh_tokens[0]})",
    )
    add(
        "--token-lifetime-s",
        type=float,
        default=_DEFAULTS.token_lifetime_s,
        help="lifetime of issued OAuth access tokens, in seconds",
    )
    add("--latency-ms", type=float, default=_DEFAULTS.latency_ms, help="added to every answer")
    add(
        "--jitter-ms",
        type=float,
        default=_DEFAULTS.jitter_ms,
        help="latency varies uniformly within +- J of --latency-ms",
    )
    add(
        "--rate-limit-10s",
        type=int,
        default=_DEFAULTS.rate_limit_10s,
        metavar="N",
        help="requests per rolling 10 s window per app (0 = off; HubSpot: 100, 190 or 250)",
    )
    add(
        "--search-rate-limit",
        type=int,
        default=_DEFAULTS.search_rate_limit,
        metavar="N",
        help="search requests per second (0 = off; HubSpot: 5)",
    )
    add(
        "--daily-limit",
        type=int,
        default=_DEFAULTS.daily_limit,
        metavar="N",
        help="requests per day for the private app (0 = off)",
    )
    add(
        "--retry-after",
        action="store_true",
        help="send Retry-After on 429 answers (HubSpot does not reliably send it)",
    )
    add(
        "--fault-rate",
        type=float,
        default=_DEFAULTS.fault_rate,
        metavar="R",
        help="share of requests answered with an injected 429/502/503/504/423",
    )
    add(
        "--drop-rate",
        type=float,
        default=_DEFAULTS.drop_rate,
        metavar="R",
        help="share of requests whose connection is closed with no answer",
    )
    add(
        "--apply-then-drop-rate",
        type=float,
        default=_DEFAULTS.apply_then_drop_rate,
        metavar="R",
        help="share of writes applied, then left unanswered (connection closed)",
    )
    add(
        "--search-lag-ms",
        type=float,
        default=_DEFAULTS.search_lag_ms,
        help="how long writes stay invisible to search",
    )
    add(
        "--required-property",
        action="append",
        default=[],
        metavar="NAME",
        help="a property an admin made required, checked on 2026-09 writes (repeatable)",
    )
    add(
        "--max-uri-length",
        type=int,
        default=_DEFAULTS.max_uri_length,
        metavar="N",
        help="longest request URI (path and query) before answering 414",
    )
    add(
        "--whole-batch-errors",
        action="store_true",
        help="fail a batch write whole on any bad input, even with objectWriteTraceId",
    )
    add(
        "--clock-offset-s",
        type=float,
        default=_DEFAULTS.clock_offset_s,
        metavar="S",
        help="run the emulator's clock S seconds ahead of this machine's (negative: behind); "
        "shifts every timestamp it serves and its Date header",
    )
    add("--verbose", action="store_true", help="log one line per request to stderr")
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """Turn parsed options into an `EmulatorConfig`."""
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        portal_id=args.portal_id,
        tickets=args.tickets,
        seed=args.seed,
        load=args.load,
        token=args.token,
        oauth_clients=dict(args.oauth_client) if args.oauth_client else _DEFAULTS.oauth_clients,
        refresh_tokens=tuple(args.refresh_token or _DEFAULTS.refresh_tokens),
        token_lifetime_s=args.token_lifetime_s,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        rate_limit_10s=args.rate_limit_10s,
        search_rate_limit=args.search_rate_limit,
        daily_limit=args.daily_limit,
        retry_after=args.retry_after,
        fault_rate=args.fault_rate,
        drop_rate=args.drop_rate,
        apply_then_drop_rate=args.apply_then_drop_rate,
        search_lag_ms=args.search_lag_ms,
        required_properties=tuple(args.required_property),
        max_uri_length=args.max_uri_length,
        whole_batch_errors=args.whole_batch_errors,
        clock_offset_s=args.clock_offset_s,
    )


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
