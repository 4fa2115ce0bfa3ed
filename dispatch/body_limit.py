"""Request body caps, enforced before anything reads a body: a declared or streamed excess answers 413."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Twilio's webhooks (`dispatch.sms.twilio_gateway.INBOUND_PATH`, `STATUS_PATH`) live under this prefix.
WEBHOOK_PREFIX = "/webhooks/twilio/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class BodyCaps:
    """The largest body, in bytes, of each kind of request."""

    json: int
    form: int
    webhook: int

    def for_request(self, path: str, content_type: str) -> tuple[int, str]:
        """The cap for this request and what to call it in the refusal."""
        if path.startswith(WEBHOOK_PREFIX):
            return self.webhook, "a Twilio webhook"
        if content_type.startswith(FORM_TYPES):
            return self.form, "a form post"
        return self.json, "an API request"


class BodyTooLarge(Exception):
    """The streamed body went past its cap; raised out of `receive` so that nothing reads on."""


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


def _refusal(cap: int, kind: str) -> JSONResponse:
    return JSONResponse(
        status_code=413,
        content={"detail": f"the body of {kind} may be at most {cap} bytes ({cap // 1024} KiB)", "limit": cap},
        # Whatever is left of the body is not wanted: close instead of reading it to find the next request.
        headers={"Connection": "close"},
    )


class BodyLimit:
    """Pure ASGI middleware: refuses with 413 a Content-Length over the cap without reading a byte, and
    counts a streamed (chunked) body as it is received, stopping at the cap: no body past it is ever held."""

    def __init__(self, app: ASGIApp, caps: BodyCaps) -> None:
        self.app = app
        self.caps = caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap, kind = self.caps.for_request(scope.get("path", ""), _header(scope, b"content-type") or "")
        declared = _declared_length(scope)
        if declared is not None and declared > cap:
            await _refusal(cap, kind)(scope, receive, send)
            return
        received, over, started = 0, False, False

        async def limited_receive() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    over = True
                    raise BodyTooLarge(cap)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app answered the cut-off body (a 400, say): the 413 below is the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise
        if over and not started:
            await _refusal(cap, kind)(scope, receive, send)


def install_body_limit(app: FastAPI, caps: BodyCaps) -> None:
    """Cap request bodies; install after the middleware that reads bodies (it then wraps them)."""
    app.add_middleware(BodyLimit, caps=caps)
