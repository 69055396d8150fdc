"""The emulator's HTTP layer: HubSpot's ticket routes over real HTTP/1.1 on loopback.

The server only parses the wire and calls the `Portal`; auth, rate limits and fault injection
wrap every call in the order a client would meet them on HubSpot: the edge (URI length,
dropped connections, transient errors), then authentication, then the request budgets, then
the API itself. Budgets count a request when it arrives; injected latency delays the answer.

Which paths exist is `routes`' table; what each call does is `handlers`, over the request
model in `calls`. This module is the wire, the bookkeeping and the server's life cycle.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from hubspot_emulator.auth import Authenticator, Principal
from hubspot_emulator.calls import Call, Result
from hubspot_emulator.clock import Clock
from hubspot_emulator.config import EmulatorConfig
from hubspot_emulator.errors import ApiError, new_correlation_id
from hubspot_emulator.faults import FaultInjector, FaultPlan, fault_body
from hubspot_emulator.hostile import (
    REPLACES_API,
    HostileAnswers,
    HostileReply,
    hostile_reply,
    without_ids,
)
from hubspot_emulator.ratelimit import RateLimiter, Verdict, rate_limit_body
from hubspot_emulator.routes import ROUTER, Route
from hubspot_emulator.store import Portal

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
# Idle keep-alive connections are closed after this long; pooled clients reconnect quietly.
KEEP_ALIVE_TIMEOUT_S = 120.0


# -- bookkeeping ---------------------------------------------------------------------------------
class Stats:
    """Count answers by route and status, plus dropped connections and injected faults."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._lock = threading.Lock()
        self._clock = clock or Clock()
        self.reset()

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._started = self._clock.now()
            self._by_route: Counter[tuple[str, str]] = Counter()
            self._events: Counter[str] = Counter()
            self._delayed_now = 0
            self._delayed_peak = 0

    def record(self, key: str, status: int | str, *events: str) -> None:
        """Count one request under `"<METHOD> <route>"` with its status (or "dropped")."""
        with self._lock:
            self._by_route[key, str(status)] += 1
            for event in events:
                self._events[event] += 1

    @contextlib.contextmanager
    def delaying(self) -> Iterator[None]:
        """Count a request held by injected latency, and how many are held at once."""
        with self._lock:
            self._events["delayed"] += 1
            self._delayed_now += 1
            self._delayed_peak = max(self._delayed_peak, self._delayed_now)
        try:
            yield
        finally:
            with self._lock:
                self._delayed_now -= 1

    def count_connection(self) -> None:
        """Count one accepted TCP connection, whether or not a request ever arrives on it."""
        with self._lock:
            self._events["connection"] += 1

    def snapshot(self) -> dict[str, Any]:
        """Return the counts as JSON."""
        with self._lock:
            by_route: dict[str, dict[str, int]] = {}
            for (key, status), count in sorted(self._by_route.items()):
                by_route.setdefault(key, {})[status] = count
            events = dict(self._events)
            since = self._started
            peak = self._delayed_peak
        return {
            "requests": sum(sum(statuses.values()) for statuses in by_route.values()),
            "by_route": by_route,
            "dropped": events.get("dropped", 0),
            "applied_then_dropped": events.get("applied_then_dropped", 0),
            "injected_faults": events.get("injected_fault", 0),
            "hostile_answers": events.get("hostile_answer", 0),
            "rate_limited": events.get("rate_limited", 0),
            # Accepted TCP connections: keep-alive reuse, or a TLS handshake that never became
            # a request, shows here and nowhere else.
            "connections": events.get("connection", 0),
            # Requests held by injected latency, and the most held at one time.
            "delayed": events.get("delayed", 0),
            "delayed_at_once": peak,
            "since": since,
        }


def _dumps(payload: Any) -> bytes:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A stored value holds a lone UTF-16 surrogate (from a --load file or a portal built in
        # code; request bodies with one are refused). HubSpot runs on the JVM, whose UTF-8
        # encoder never writes a lone surrogate but a replacement; U+FFFD, the Unicode
        # replacement character, keeps the answer valid UTF-8 JSON that any client can read,
        # where an escaped `\ud800` would be refused by strict parsers. Pairs stay pairs.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


# -- HTTP ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Admission:
    """The outcome of authenticating a request and counting it against the budgets."""

    principal: Principal | None = None
    verdict: Verdict | None = None
    error: ApiError | None = None  # the authentication failure, answered after the delay

    def result(self) -> tuple[Principal, Verdict]:
        """Return who called and the budgets' verdict, or raise the authentication error."""
        if self.error is not None:
            raise self.error
        assert self.principal is not None
        assert self.verdict is not None
        return self.principal, self.verdict


def _reaches_api(plan: FaultPlan) -> bool:
    """Tell whether a request gets past the edge (no dropped connection, no injected error)."""
    return not plan.drop and plan.status is None


class _Handler(BaseHTTPRequestHandler):
    """Serve one keep-alive connection: many requests in turn."""

    protocol_version = "HTTP/1.1"
    # A request line http.server cannot parse (garbage, a TLS handshake sent to plain HTTP) is
    # answered with a status line and headers, Date included, as HubSpot's edge does, not in
    # the header-less HTTP/0.9 form http.server would otherwise fall back to.
    default_request_version = "HTTP/1.1"
    server_version = "hubspot-emulator"
    timeout = KEEP_ALIVE_TIMEOUT_S
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Log only when the emulator is verbose."""
        if self.server.emulator.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Stay quiet: `_serve` logs its own line when verbose."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Date the answers http.server writes itself (malformed requests) by the emulator clock."""
        return self.server.emulator.clock.http_date()

    def do_GET(self) -> None:
        """Serve any method the same way: the route table decides."""
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- the pipeline ---------------------------------------------------------------------------
    def _serve(self) -> None:
        emulator = self.server.emulator
        started = time.perf_counter()
        method = self.command
        status: int | str = 0
        key = f"{method} unknown"
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._send(400, b"Bad request body\n", "text/plain;charset=utf-8")
            return
        target = self.path
        try:
            if len(target) > emulator.config.max_uri_length:
                # HubSpot's edge answers this before any API logic, in plain text.
                status = 414
                emulator.counters.record(f"{method} uri_too_long", 414)
                self._send(414, b"414 URI Too Long\n", "text/plain;charset=utf-8")
                return
            path, _, query_string = target.partition("?")
            route, params, allowed = ROUTER.match(method, path)
            if route is not None and route.internal:
                status = self._answer_internal(route, params, body)
                return
            if route is not None:
                key = f"{method} {route.name}"
            status = self._serve_api(
                route=route,
                path=path,
                params=params,
                allowed=allowed,
                query_string=query_string,
                body=body,
                key=key,
            )
        finally:
            if emulator.verbose:
                elapsed = (time.perf_counter() - started) * 1000
                sys.stderr.write(f"{method} {target[:200]} -> {status} ({elapsed:.1f} ms)\n")

    def _serve_api(
        self,
        *,
        route: Route | None,
        path: str,
        params: dict[str, str],
        allowed: list[str],
        query_string: str,
        body: bytes,
        key: str,
    ) -> int | str:
        emulator = self.server.emulator
        # Every branch counts before it answers: a client reading the stats right after its
        # answer must find that answer counted.
        stats = emulator.counters
        plan = emulator.faults.plan(write=route is not None and route.write, path=path)
        # HubSpot counts a request against its budgets when the request arrives; the injected
        # latency stands for the network and processing time around it. So a request that
        # passes the edge is authenticated and admitted first, and only then delayed.
        admission = None
        if route is not None and route.auth and _reaches_api(plan):
            admission = self._admit(route)
        if plan.delay_s:
            with stats.delaying():
                time.sleep(plan.delay_s)
        injected = self._inject_fault(plan, key)
        if injected is not None:
            return injected
        hostile = emulator.hostile.pick(self.command, path) if route is not None else None
        headers: list[tuple[str, str]] = []
        try:
            if route is None:
                status, payload = self._no_route(allowed, headers)
            else:
                principal = None
                if admission is not None:
                    principal, verdict = admission.result()
                    headers.extend(verdict.headers)
                    if not verdict.allowed:
                        return self._refuse_over_budget(verdict, headers, key)
                query = parse_qs(query_string, keep_blank_values=True) if query_string else {}
                if hostile in REPLACES_API:
                    return self._answer(key, 200, None, headers, hostile, body)
                call = Call(
                    emulator, path=path, params=params, query=query, body=body, principal=principal
                )
                status, payload = route.handler(call)
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        except Exception:
            sys.stderr.write(f"hubspot-emulator: error serving {self.command} {self.path[:200]}\n")
            traceback.print_exc(file=sys.stderr)
            status = 500
            payload = ApiError(500, "internal error in the emulator", "INTERNAL_ERROR").body()
        if plan.drop_after_apply:
            stats.record(key, "dropped", "applied_then_dropped")
            self._drop()
            return "dropped"
        return self._answer(key, status, payload, headers, hostile, body)

    def _answer(  # noqa: PLR0917 - the answer's parts, as `_serve_api` holds them
        self,
        key: str,
        status: int,
        payload: Any,
        headers: list[tuple[str, str]],
        hostile: str | None,
        request_body: bytes,
    ) -> int:
        """Send the API's answer, or the hostile one configured in its place (`hostile`)."""
        emulator = self.server.emulator
        if hostile is None or status >= 300:
            emulator.counters.record(key, status)
            self._send_json(status, payload, headers)
            return status
        shaped = without_ids(payload) if hostile == "no-ids" else payload
        reply = hostile_reply(
            hostile,
            status,
            b"" if shaped is None else _dumps(shaped),
            self.headers.get("Authorization"),
            request_body,
            emulator.config,
        )
        emulator.counters.record(key, reply.status, "hostile_answer")
        self._send_reply(reply, headers)
        return reply.status

    def _inject_fault(self, plan: FaultPlan, key: str) -> int | str | None:
        """Answer with the fault the plan injects before the API (None: it injects none)."""
        emulator = self.server.emulator
        if plan.drop:
            emulator.counters.record(key, "dropped", "dropped")
            self._drop()
            return "dropped"
        if plan.status is not None:
            payload = fault_body(plan.status, new_correlation_id())
            headers = [("Retry-After", "1")] if emulator.config.retry_after else []
            emulator.counters.record(key, plan.status, "injected_fault")
            self._send_json(plan.status, payload, headers)
            return plan.status
        return None

    def _refuse_over_budget(
        self, verdict: Verdict, headers: list[tuple[str, str]], key: str
    ) -> int:
        """Answer HubSpot's 429 for a request over one of its budgets."""
        emulator = self.server.emulator
        if emulator.config.retry_after and verdict.retry_after_s:
            headers.append(("Retry-After", str(verdict.retry_after_s)))
        payload = rate_limit_body(verdict.policy or "TEN_SECONDLY_ROLLING", new_correlation_id())
        emulator.counters.record(key, 429, "rate_limited")
        self._send_json(429, payload, headers)
        return 429

    def _admit(self, route: Route) -> _Admission:
        """Authenticate the caller and count the request against its budgets, now."""
        emulator = self.server.emulator
        try:
            principal = emulator.auth.authenticate(self.headers.get("Authorization"))
        except ApiError as exc:
            return _Admission(error=exc)
        verdict = emulator.limiter.admit(principal, search=route.search)
        return _Admission(principal=principal, verdict=verdict)

    def _no_route(self, allowed: list[str], headers: list[tuple[str, str]]) -> Result:
        if allowed:
            headers.append(("Allow", ", ".join(allowed)))
            error = ApiError(
                405, f"HTTP {self.command} is not supported by this resource", "METHOD_NOT_ALLOWED"
            )
        else:
            error = ApiError(404, f"No resource found at {self.path[:200]}", "OBJECT_NOT_FOUND")
        return error.status, error.body()

    def _answer_internal(self, route: Route, params: dict[str, str], body: bytes) -> int:
        status, payload = route.handler(
            Call(self.server.emulator, path="", params=params, query={}, body=body, principal=None)
        )
        self._send_json(status, payload, [])
        return status

    # -- the wire -------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        size = int(length)
        if size < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # Skip trailers up to the blank line that ends the message.
                while self.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send_json(self, status: int, payload: Any, headers: list[tuple[str, str]]) -> None:
        if payload is None or status == 204:
            self._send(status, b"", None, headers)
            return
        extra = headers
        if status >= 400 and isinstance(payload, dict) and "correlationId" in payload:
            extra = [*headers, ("X-HubSpot-Correlation-Id", str(payload["correlationId"]))]
        self._send(status, _dumps(payload), JSON_CONTENT_TYPE, extra)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str | None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        # One write per answer: headers and body leave in the same segment, so neither side's
        # Nagle or delayed-ACK logic adds a round trip on keep-alive connections.
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}", f"Date: {self.server.emulator.clock.http_date()}"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        if status != 204:
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + body if self.command != "HEAD" else head)
        except OSError:
            # The client went away; nothing left to tell it.
            self.close_connection = True

    def _send_reply(self, reply: HostileReply, headers: list[tuple[str, str]]) -> None:
        """Send a hostile reply: its head (at once or trickled), then its pieces, each paused."""
        self.close_connection = True
        lines = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}"]
        lines.append(f"Date: {self.server.emulator.clock.http_date()}")
        if reply.json:
            lines.append(f"Content-Type: {JSON_CONTENT_TYPE}")
        lines += [f"{name}: {value}" for name, value in [*reply.headers, *headers]]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        first = [head[i : i + 1] for i in range(len(head))] if reply.trickle_head else [head]
        try:
            for index, piece in enumerate(itertools.chain(first, reply.pieces)):
                if reply.pause_s and (index or reply.trickle_head):
                    time.sleep(reply.pause_s)
                self.wfile.write(piece)
        except OSError:
            return  # the client stopped reading: what a trickle or a huge answer is for

    def _drop(self) -> None:
        """Close the connection without answering, as a failing network or proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _HttpServer(ThreadingHTTPServer):
    """A threading HTTP server that can close its idle keep-alive connections on stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: EmulatorServer) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Track the connection, then serve it on its own thread."""
        self.emulator.counters.count_connection()
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget the connection and close it."""
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that vanish mid-request; report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Wake every connection thread so it ends: their reads return end-of-file."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def build_portal(config: EmulatorConfig, clock: Clock | None = None) -> Portal:
    """Create the portal a config describes: seeded and/or loaded from a JSONL file."""
    portal = Portal(
        clock_ms=(clock or Clock(config.clock_offset_s)).now_ms,
        search_lag_ms=config.search_lag_ms,
        search_hidden_ids=config.search_hidden_ids,
        required_properties=config.required_properties,
        whole_batch_errors=config.whole_batch_errors,
    )
    if config.tickets > 0:
        portal.seed(config.tickets, config.seed)
    if config.load:
        with open(config.load, encoding="utf-8") as lines:
            portal.load_jsonl(lines)
    return portal


class EmulatorServer:
    """The emulator: a portal served over HTTP on a background thread.

    `config.clock_offset_s` shifts the clock of everything the server builds; a `portal` passed
    in keeps the clock it was built with.
    """

    def __init__(
        self, config: EmulatorConfig, portal: Portal | None = None, *, verbose: bool = False
    ) -> None:
        self.config = config
        self.clock = Clock(config.clock_offset_s)
        self.portal = portal if portal is not None else build_portal(config, self.clock)
        self.verbose = verbose
        self.auth = Authenticator(
            private_token=config.token,
            oauth_clients=config.oauth_clients,
            refresh_tokens=config.refresh_tokens,
            token_lifetime_s=config.token_lifetime_s,
            hub_id=config.portal_id,
        )
        self.limiter = RateLimiter(
            per_10s=config.rate_limit_10s,
            search_per_s=config.search_rate_limit,
            daily=config.daily_limit,
            wall_clock=self.clock.now,
        )
        self.faults = FaultInjector(
            seed=config.seed,
            latency_ms=config.latency_ms,
            jitter_ms=config.jitter_ms,
            fault_rate=config.fault_rate,
            drop_rate=config.drop_rate,
            fault_paths=config.fault_paths,
            fault_statuses=config.fault_statuses,
            apply_then_drop_rate=config.apply_then_drop_rate,
        )
        self.hostile = HostileAnswers(
            config.hostile_answer, config.hostile_answer_on, config.hostile_answer_times
        )
        self.counters = Stats(self.clock)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    # -- life cycle -----------------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        """Bind the port and serve on a background thread; return self."""
        if self._httpd is not None:
            return self
        self._httpd = _HttpServer((self.config.host, self.config.port), self)
        self._stopped.clear()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"hubspot-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve until `stop()` is called from another thread or a signal handler."""
        self.start()
        while not self._stopped.wait(0.5):
            pass

    def stop(self) -> None:
        """Stop serving, close every connection and wait for their threads."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()  # joins the connection threads
        if thread is not None:
            thread.join()
        self._stopped.set()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where and how it is doing --------------------------------------------------------------
    @property
    def port(self) -> int:
        """Return the bound port (a free one when the config asked for 0)."""
        if self._httpd is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Return the base URL clients use, e.g. http://127.0.0.1:8080."""
        return f"http://{self.config.host}:{self.port}"

    def stats(self) -> dict[str, Any]:
        """Return request counts by route and status, dropped connections and faults."""
        return self.counters.snapshot()

    def reset_stats(self) -> None:
        """Forget the request counts."""
        self.counters.reset()
