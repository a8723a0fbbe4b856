"""Read a small browser form post (urlencoded) without a multipart parser."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

MAX_FORM_BYTES = 4096  # a CSRF token and a button: anything bigger is not our form


async def read(request: Request) -> dict[str, str]:
    """The form's fields (first value of each); empty when it is not a small urlencoded form."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=16)
    return {name: values[0] for name, values in fields.items() if values}
