"""One routed request as the handlers see it, and HubSpot's strict reading of JSON bodies."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from hubspot_emulator.auth import Principal
from hubspot_emulator.errors import ApiError, validation_error
from hubspot_emulator.store import Portal

if TYPE_CHECKING:
    from hubspot_emulator.server import EmulatorServer

LEGACY_API_VERSION = "v3"

Result = tuple[int, Any]  # (HTTP status, JSON body, or None for an empty answer)


# -- request bodies ----------------------------------------------------------------------------
# NaN and Infinity are not JSON (RFC 8259 has no such numbers) although Python's json reads them;
# HubSpot's parser refuses them, and lone UTF-16 surrogates, whether escaped or as raw bytes.
_NON_STANDARD_TOKENS = ("-Infinity", "Infinity", "NaN")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class _NonStandardToken(ValueError):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _refuse_constant(token: str) -> Any:
    raise _NonStandardToken(token)


def _invalid_json(text: str, offset: int, reason: str) -> ApiError:
    """HubSpot's 400 for a body it cannot parse, pointing at `offset` like its parser does."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return validation_error(f"Invalid input JSON on line {line}, column {column}: {reason}")


def _first_problem(text: str) -> tuple[int, str] | None:
    """Find the first non-standard number outside strings or lone surrogate escape inside one."""
    index, end, in_string = 0, len(text), False
    while index < end:
        char = text[index]
        if in_string:
            if char == '"':
                in_string = False
            elif char == "\\":
                if text.startswith("u", index + 1):
                    problem, length = _surrogate_at(text, index)
                    if problem:
                        return index, problem
                    index += length
                    continue
                index += 2
                continue
        elif char == '"':
            in_string = True
        else:
            for token in _NON_STANDARD_TOKENS:
                if text.startswith(token, index):
                    return index, f"Non-standard token '{token}': not a JSON number"
        index += 1
    return None


def _code_unit(text: str, index: int) -> int | None:
    """Return the UTF-16 code unit of a `\\uXXXX` escape at `index`, or None."""
    digits = text[index + 2 : index + 6]
    if not text.startswith("\\u", index) or len(digits) != 4:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def _surrogate_at(text: str, index: int) -> tuple[str | None, int]:
    """Check the `\\u` escape at `index`: (what is wrong or None, characters it spans)."""
    unit = _code_unit(text, index)
    if unit is None or not 0xD800 <= unit <= 0xDFFF:
        return None, 6
    if unit <= 0xDBFF:
        low = _code_unit(text, index + 6)
        if low is not None and 0xDC00 <= low <= 0xDFFF:
            return None, 12  # a valid pair
        return f"Unpaired high surrogate \\u{unit:04x}: not valid Unicode", 6
    return f"Unpaired low surrogate \\u{unit:04x}: not valid Unicode", 6


def parse_json_body(body: bytes) -> Any:
    """Decode a request body as strict JSON in UTF-8, or raise HubSpot's 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Raw surrogate bytes (ED A0 80) and any other bytes that are not UTF-8 land here.
        prefix = body[: exc.start].decode("utf-8", "replace")
        reason = f"Invalid UTF-8 start byte 0x{body[exc.start]:02x}"
        raise _invalid_json(prefix, len(prefix), reason) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except _NonStandardToken as exc:
        offset, reason = _first_problem(text) or (0, f"Non-standard token '{exc.token}'")
        raise _invalid_json(text, offset, reason) from None
    except json.JSONDecodeError as exc:
        raise _invalid_json(text, exc.pos, exc.msg) from None
    # Only an escape can smuggle a lone surrogate past the UTF-8 decoding above.
    if _SURROGATE_ESCAPE.search(text):
        found = _first_problem(text)
        if found is not None:
            raise _invalid_json(text, *found)
    return value


# -- one request as the handlers see it ---------------------------------------------------------
class Call:
    """One routed request: path parameters, query, body, and the emulator it reached."""

    __slots__ = ("api_version", "body", "emulator", "params", "path", "principal", "query")

    def __init__(
        self,
        emulator: EmulatorServer,
        *,
        path: str,
        params: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
        principal: Principal | None,
    ) -> None:
        self.emulator = emulator
        self.path = path
        self.params = params
        self.query = query
        self.body = body
        self.principal = principal
        self.api_version = params.get("ver") or LEGACY_API_VERSION

    @property
    def portal(self) -> Portal:
        """Return the portal this request works on."""
        return self.emulator.portal

    def json(self) -> Any:
        """Decode the body, answering HubSpot's 400 for anything that is not JSON."""
        return parse_json_body(self.body)

    def json_object(self) -> dict[str, Any]:
        """Decode a body that must be a JSON object."""
        body = self.json()
        if not isinstance(body, dict):
            raise validation_error("Invalid input JSON: expected an object")
        return body

    def json_array(self) -> list[Any]:
        """Decode a body that must be a JSON array."""
        body = self.json()
        if not isinstance(body, list):
            raise validation_error("Invalid input JSON: expected an array")
        return body

    def text(self, name: str) -> str | None:
        """Return a query parameter's last value, as HubSpot reads single-valued ones."""
        values = self.query.get(name)
        return values[-1] if values else None

    def words(self, name: str) -> list[str] | None:
        """Return a list parameter given as a comma list, repeated, or both; None if absent."""
        values = self.query.get(name)
        if not values:
            return None
        words = [word.strip() for value in values for word in value.split(",")]
        return [word for word in words if word] or None

    def integer(self, name: str, default: int) -> int:
        """Return an integer query parameter."""
        value = self.text(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise validation_error(
                f"Invalid value for query parameter '{name}': '{value}' is not an integer",
                context={name: [value]},
            ) from None

    def flag(self, name: str) -> bool:
        """Return a true/false query parameter (false when absent)."""
        value = self.text(name)
        if value is None or value == "":
            return False
        lowered = value.lower()
        if lowered not in ("true", "false"):
            raise validation_error(
                f"Invalid value for query parameter '{name}': '{value}' is not true or false",
                context={name: [value]},
            )
        return lowered == "true"

    def with_next_link(self, page: dict[str, Any]) -> dict[str, Any]:
        """Point `paging.next.link` at this URL with the next `after`, absolute as on HubSpot."""
        after = page.get("paging", {}).get("next", {}).get("after")
        if after is not None:
            query = [(k, v) for k, values in self.query.items() if k != "after" for v in values]
            query.append(("after", str(after)))
            encoded = urlencode(query, safe=",")
            link = f"{self.emulator.url}{self.path}?{encoded}"
            page["paging"]["next"]["link"] = link
        return page
