"""Rewrite requests to one host so they reach another, inside any process that uses `requests`.

Python imports a module named `sitecustomize` at start-up when it is on `sys.path`; the bench
driver puts this folder on `PYTHONPATH` of a peer connector and sets two variables:

- `BENCH_REAL_HOST`: the scheme and host to replace (the driver passes HubSpot's production
  URL from `hubspot_api.config`, so the host is spelled in one place only);
- `BENCH_API_URL`: where to send those requests instead (the emulator).

With either unset, nothing is patched. Only `requests` is wrapped, at its transport
(`HTTPAdapter.send`), which every peer connector's HTTP goes through. Only the host changes:
paths, queries and bodies reach the emulator exactly as the connector sent them.
"""

from __future__ import annotations

import os
from typing import Any

REAL_HOST_ENV = "BENCH_REAL_HOST"
API_URL_ENV = "BENCH_API_URL"


def rewrite_url(url: str, real_host: str, target: str) -> str:
    """Return `url` with its `real_host` prefix replaced by `target`; other URLs unchanged.

    The match is on a whole host: the real host followed by `.evil` or by `x/` keeps its host,
    and the scheme and host compare case-insensitively.
    """
    real = real_host.rstrip("/")
    if not real or not target:
        return url
    head, rest = url[: len(real)], url[len(real) :]
    if head.lower() != real.lower() or (rest and rest[0] not in "/?#"):
        return url
    return target.rstrip("/") + rest


def install(real_host: str, target: str) -> bool:
    """Wrap `requests.adapters.HTTPAdapter.send` to rewrite URLs; False when no `requests`."""
    try:
        from requests import adapters  # noqa: PLC0415 - only where requests exists
    except ImportError:
        return False
    original = adapters.HTTPAdapter.send
    if getattr(original, "_bench_redirect", False):
        return True

    def send(self: adapters.HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.url:
            request.url = rewrite_url(request.url, real_host, target)
        return original(self, request, *args, **kwargs)

    send._bench_redirect = True  # type: ignore[attr-defined]
    adapters.HTTPAdapter.send = send  # type: ignore[method-assign]
    return True


if __name__ == "sitecustomize":
    _real, _target = os.environ.get(REAL_HOST_ENV, ""), os.environ.get(API_URL_ENV, "")
    if _real and _target:
        install(_real, _target)
