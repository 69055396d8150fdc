"""Rewrite requests to one host so they reach another, inside any process that uses `requests`.

Python imports a module named `sitecustomize` at start-up when it is on `sys.path`; the bench
driver puts this folder on `PYTHONPATH` of a peer connector and sets two variables:

- `BENCH_REAL_HOST`: the scheme and host to replace (the driver passes HubSpot's production
  URL from `hubspot_api.config`, so the host is spelled in one place only);
- `BENCH_API_URL`: where to send those requests instead (the emulator).

With either unset, nothing is patched. Only `requests` is wrapped, at its transport
(`HTTPAdapter.send`), which every peer connector's HTTP goes through.

`BENCH_SHIMS` (optional, JSON) lists what to do with paths the emulator does not serve but a
peer calls at start-up for objects other than tickets: `[{"match": REGEX, "answer": JSON}]`
answers such a request in-process with 200 and that body (it never reaches the emulator), and
`[{"match": REGEX, "path": REPLACEMENT}]` sends it to another path (`re.sub` on the path).
The bench driver prints every shim a connector ran with beside its numbers.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REAL_HOST_ENV = "BENCH_REAL_HOST"
API_URL_ENV = "BENCH_API_URL"
SHIMS_ENV = "BENCH_SHIMS"


def rewrite_url(url: str, real_host: str, target: str) -> str:
    """Return `url` with its `real_host` prefix replaced by `target`; other URLs unchanged.

    The match is on a whole host: `https://api.hubapi.com.evil` or `https://api.hubapi.comx/`
    keep their host, and the scheme and host compare case-insensitively.
    """
    real = real_host.rstrip("/")
    if not real or not target:
        return url
    head, rest = url[: len(real)], url[len(real) :]
    if head.lower() != real.lower() or (rest and rest[0] not in "/?#"):
        return url
    return target.rstrip("/") + rest


def apply_shims(url: str, shims: list[dict[str, Any]]) -> tuple[str, Any]:
    """Return `(url, None)` with the first matching path rule applied, or `(url, answer)`.

    Rules match the URL's path with `re.fullmatch`; the first match wins.
    """
    parts = urlsplit(url)
    for shim in shims:
        if re.fullmatch(shim["match"], parts.path):
            if "answer" in shim:
                return url, shim["answer"]
            path = re.sub(shim["match"], shim["path"], parts.path)
            return urlunsplit(parts._replace(path=path)), None
    return url, None


def install(real_host: str, target: str, shims: list[dict[str, Any]] | None = None) -> bool:
    """Wrap `requests.adapters.HTTPAdapter.send` to rewrite URLs; False when no `requests`."""
    try:
        from requests import adapters  # noqa: PLC0415 - only where requests exists
    except ImportError:
        return False
    original = adapters.HTTPAdapter.send
    if getattr(original, "_bench_redirect", False):
        return True
    rules = shims or []

    def send(self, request, *args, **kwargs):
        if request.url:
            url = rewrite_url(request.url, real_host, target)
            if url != request.url:
                url, answer = apply_shims(url, rules)
                if answer is not None:
                    return _local_answer(self, request, answer)
            request.url = url
        return original(self, request, *args, **kwargs)

    send._bench_redirect = True  # type: ignore[attr-defined]
    adapters.HTTPAdapter.send = send  # type: ignore[method-assign]
    return True


def _local_answer(adapter: Any, request: Any, answer: Any) -> Any:
    """Build a 200 JSON response the way `HTTPAdapter` does, from a urllib3 response."""
    import io  # noqa: PLC0415 - only on the rare answered-locally path

    from urllib3 import HTTPResponse  # noqa: PLC0415

    body = json.dumps(answer).encode()
    raw = HTTPResponse(
        body=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Content-Length": str(len(body))},
        status=200,
        reason="OK",
        preload_content=False,
        decode_content=False,
        request_url=request.url,
    )
    return adapter.build_response(request, raw)


if __name__ == "sitecustomize":
    _real, _target = os.environ.get(REAL_HOST_ENV, ""), os.environ.get(API_URL_ENV, "")
    if _real and _target:
        install(_real, _target, json.loads(os.environ.get(SHIMS_ENV) or "[]"))
