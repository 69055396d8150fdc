"""Options of one emulator run: the CLI fills them, tests build them directly."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TOKEN = "emulator-token"  # noqa: S105 - the documented token of the local emulator
DEFAULT_PORTAL_ID = 12345678


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything that shapes how the emulator behaves; every field has a CLI flag."""

    host: str = "127.0.0.1"
    port: int = 0
    # The account's id (HubSpot's portalId or hub_id) in account details and token metadata.
    portal_id: int = DEFAULT_PORTAL_ID
    tickets: int = 0
    seed: int = 0
    load: str | None = None
    token: str = DEFAULT_TOKEN
    # OAuth apps the token endpoint accepts: client_id -> client_secret.
    oauth_clients: dict[str, str] = field(
        default_factory=lambda: {"emulator-client": "emulator-secret"}
    )
    # Refresh tokens the token endpoint accepts at start (more are issued as it runs).
    refresh_tokens: tuple[str, ...] = ("emulator-refresh-token",)
    token_lifetime_s: float = 1800.0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate_limit_10s: int = 0  # 0 = off; HubSpot's rolling ten-second budget
    search_rate_limit: int = 0  # 0 = off; HubSpot's separate search budget per second
    daily_limit: int = 0  # 0 = off
    retry_after: bool = False  # HubSpot does not reliably send Retry-After; off by default
    fault_rate: float = 0.0  # share of requests answered with an injected 429/502/503/504/423
    drop_rate: float = 0.0  # share of requests whose connection is closed with no answer
    # Request paths (shell-style patterns) the two rates above apply to; empty: every path.
    fault_paths: tuple[str, ...] = ()
    # Statuses injected faults answer with; empty: 429/502/503/504, and 423 on writes.
    fault_statuses: tuple[int, ...] = ()
    apply_then_drop_rate: float = 0.0  # share of writes applied, then the connection dropped
    search_lag_ms: float = 0.0  # writes stay invisible to search for this long
    # Tickets search counts in `total` but leaves out of its results (a lost index document).
    search_hidden_ids: tuple[int, ...] = ()
    # Properties an admin made required; checked on writes under API version 2026-09 only.
    required_properties: tuple[str, ...] = ()
    max_uri_length: int = 16_000
    # Fail a batch write whole on any bad input, even when every input carries a trace id.
    whole_batch_errors: bool = False
    # Seconds the emulator's clock runs ahead of this machine's (negative: behind); see clock.py.
    clock_offset_s: float = 0.0
    # A broken paging cursor on the tickets list, live and archived: "repeat" or "cycle".
    list_cursor_fault: str | None = None
    # Answer matching requests in a way HubSpot never does (a kind of `hostile.HOSTILE_KINDS`).
    hostile_answer: str | None = None
    # Which requests: globs over "METHOD /path" (none: every API request).
    hostile_answer_on: tuple[str, ...] = ()
    hostile_answer_times: int = 0  # the first N matching requests only; 0: every one
    hostile_answer_mb: float = 200.0  # decoded size of the `huge` and `gzip-bomb` answers
    hostile_trickle_s: float = 1.0  # seconds between the bytes of a `trickle` answer
