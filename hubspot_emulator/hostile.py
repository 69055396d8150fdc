"""Hostile answers: successes whose body is not what HubSpot documents, or never ends, or is huge.

`--hostile-answer KIND` answers matching requests (`--hostile-answer-on "METHOD GLOB"`, all API
requests by default; the first `--hostile-answer-times` N only, when given) in one of these
ways. Kinds that replace the answer apply nothing; kinds that reshape or slow the real answer
apply the request first, as a proxy in front of HubSpot would.
"""

from __future__ import annotations

import base64
import fnmatch
import itertools
import json
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from hubspot_emulator.config import EmulatorConfig
from hubspot_emulator.errors import new_correlation_id

# Kinds that answer 200 with this body instead of the API (nothing is applied).
REPLACING: dict[str, bytes] = {
    "empty": b"",
    "null": b"null",
    "list": b"[]",
    "string": b'"ok"',
    "no-results": b'{"status":"COMPLETE"}',
}
# Kinds that take the real answer (the request is applied) and reshape or slow it.
RESHAPING = ("no-ids", "trickle", "trickle-body", "huge", "gzip-bomb")
# A 400 whose message echoes the request's credentials, base64-encoded (nothing is applied).
ECHO_SECRET = "echo-secret-base64"  # noqa: S105 - the name of a kind, not a secret
HOSTILE_KINDS = (*REPLACING, *RESHAPING, ECHO_SECRET)
# Kinds answered before the API is called: nothing is applied.
REPLACES_API = frozenset({*REPLACING, ECHO_SECRET})

PAD_PIECE = b" " * (1 << 20)


class HostileAnswers:
    """Decide which requests get the configured hostile answer; thread-safe."""

    def __init__(self, kind: str | None, on: Iterable[str] = (), times: int = 0) -> None:
        if kind is not None and kind not in HOSTILE_KINDS:
            raise ValueError(f"unknown hostile answer {kind!r}; one of {', '.join(HOSTILE_KINDS)}")
        self.kind = kind
        self._patterns = tuple(on)
        self._times = times
        self._given = 0
        self._lock = threading.Lock()

    def pick(self, method: str, path: str) -> str | None:
        """Return the hostile kind for this request, or None to answer it normally."""
        if self.kind is None:
            return None
        what = f"{method} {path}"
        if self._patterns and not any(fnmatch.fnmatchcase(what, p) for p in self._patterns):
            return None
        with self._lock:
            if self._times and self._given >= self._times:
                return None
            self._given += 1
        return self.kind


def without_ids(payload: Any) -> Any:
    """Return the answer with every `id` left out (of the object, and of each result)."""
    if not isinstance(payload, Mapping):
        return payload
    reshaped = {k: v for k, v in payload.items() if k != "id"}
    results = reshaped.get("results")
    if isinstance(results, list):
        reshaped["results"] = [
            {k: v for k, v in r.items() if k != "id"} if isinstance(r, Mapping) else r
            for r in results
        ]
    return reshaped


def gzip_bomb(body: bytes, padding_mb: float) -> bytes:
    """Return `body` after `padding_mb` MB of spaces, gzip-compressed (about 1,000 to 1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [packer.compress(piece) for piece in padding(padding_mb)]
    out += [packer.compress(body), packer.flush()]
    return b"".join(out)


def padding(padding_mb: float) -> Iterable[bytes]:
    """Yield `padding_mb` MB of spaces, a MB at a time (leading spaces keep the JSON valid)."""
    left = int(padding_mb * (1 << 20))
    while left > 0:
        piece = PAD_PIECE[: min(left, len(PAD_PIECE))]
        left -= len(piece)
        yield piece


def echoed_credentials(authorization: str | None, body: bytes) -> str:
    """Return a message echoing the request's credentials, base64-encoded as a server might."""
    secrets: list[str] = []
    if authorization and authorization.lower().startswith("bearer "):
        secrets.append(authorization[7:])
    form = parse_qs(body.decode("utf-8", "replace")) if body else {}
    client_id = next(iter(form.get("client_id", [])), None)
    for name in ("client_secret", "refresh_token"):
        secrets += form.get(name, [])
    if client_id and form.get("client_secret"):
        secrets.append(f"{client_id}:{form['client_secret'][0]}")
    encoded = [base64.b64encode(s.encode("utf-8")).decode("ascii") for s in secrets]
    encoded += [base64.urlsafe_b64encode(s.encode("utf-8")).decode("ascii") for s in secrets]
    return "credentials not accepted: " + ", ".join(encoded or ["none"])


def echo_body(message: str, correlation_id: str) -> bytes:
    """Render HubSpot's error body around `message`."""
    return json.dumps(
        {
            "status": "error",
            "message": message,
            "correlationId": correlation_id,
            "category": "VALIDATION_ERROR",
        }
    ).encode("utf-8")


@dataclass(frozen=True)
class HostileReply:
    """What goes on the wire: status, headers, and the body in pieces, each after a pause."""

    status: int
    headers: list[tuple[str, str]]
    pieces: Iterable[bytes]
    pause_s: float = 0.0
    json: bool = True  # sent with the JSON content type
    trickle_head: bool = False  # the status line and headers too, a byte after each pause


def hostile_reply(  # noqa: PLR0917 - one answer's parts
    kind: str,
    status: int,
    body: bytes,
    authorization: str | None,
    request_body: bytes,
    config: EmulatorConfig,
) -> HostileReply:
    """Return the hostile `kind` of an answer: `body` is the API's own (empty if not called)."""
    if kind in REPLACING:
        body = REPLACING[kind]
        return HostileReply(status, [_length(len(body))], [body], json=bool(body))
    if kind == ECHO_SECRET:
        message = echoed_credentials(authorization, request_body)
        error = echo_body(message, new_correlation_id())
        return HostileReply(400, [_length(len(error))], [error])
    if kind in {"trickle", "trickle-body"}:
        pieces = [body[i : i + 1] for i in range(len(body))]
        return HostileReply(
            status,
            [_length(len(body))],
            pieces,
            config.hostile_trickle_s,
            trickle_head=kind == "trickle",
        )
    if kind == "huge":
        size = int(config.hostile_answer_mb * (1 << 20)) + len(body)
        padded = itertools.chain(padding(config.hostile_answer_mb), [body])
        return HostileReply(status, [_length(size)], padded)
    if kind == "gzip-bomb":
        bomb = gzip_bomb(body, config.hostile_answer_mb)
        return HostileReply(status, [("Content-Encoding", "gzip"), _length(len(bomb))], [bomb])
    return HostileReply(status, [_length(len(body))], [body])  # no-ids: reshaped already


def _length(size: int) -> tuple[str, str]:
    return ("Content-Length", str(size))
