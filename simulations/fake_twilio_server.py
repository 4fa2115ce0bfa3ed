"""The fake Twilio as a process of its own (`python -m simulations fake-twilio`), as a deployment sees Twilio.

The service behind a TLS proxy knows itself by its public https URL: Twilio signs every webhook for that
URL. This fake does the same, but posts the webhooks to the service's local http port (`--deliver-to`).
Besides Twilio's Messages API it answers a small control API for tests, under `/_fake/`:
`GET /_fake/messages` (every message it holds), `POST /_fake/inbound` (`{"from": …, "body": …}`: a
phone's SMS to our number, posted to the service signed as Twilio signs; answers the service's status and
TwiML), `GET /_fake/calls` (every call placed) and `POST /_fake/calls/{sid}/answer` (`{"keys": ["1"]}`: the
phone picks up, hears the TwiML and presses the keys; answers what it heard) or `…/end`
(`{"status": "no-answer"}`). The auth token is read from `TWILIO_AUTH_TOKEN`, never from the command line.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import typer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from simulations.fake_twilio import FakeCall, FakeMessage, FakeTwilio

WEBHOOK_PATH = "/webhooks/twilio/sms"


def message_json(message: FakeMessage) -> dict[str, Any]:
    """A message as the control API shows it."""
    return {
        "sid": message.sid,
        "to": message.to,
        "from": message.from_,
        "body": message.body,
        "status": message.status,
        "via": message.via,
        "created_at": message.created_at,
    }


def call_json(call: FakeCall) -> dict[str, Any]:
    """A call as the control API shows it."""
    return {"sid": call.sid, "to": call.to, "from": call.from_, "status": call.status, "said": call.said}


class PublicFakeTwilio(FakeTwilio):
    """A fake Twilio that signs webhooks for the public URL and posts them to a local one."""

    def __init__(self, account_sid: str, auth_token: str, public_url: str, deliver_to: str, **kwargs: Any):
        self.public_url = public_url.rstrip("/")
        self.deliver_to = deliver_to.rstrip("/")
        super().__init__(account_sid, auth_token, webhook_url=self.public_url + WEBHOOK_PATH, **kwargs)
        self.app.router.routes.extend(
            [
                Route("/_fake/messages", self._list_messages, methods=["GET"]),
                Route("/_fake/inbound", self._inbound, methods=["POST"]),
                Route("/_fake/calls", self._list_calls, methods=["GET"]),
                Route("/_fake/calls/{sid}/answer", self._answer, methods=["POST"]),
                Route("/_fake/calls/{sid}/end", self._end, methods=["POST"]),
            ]
        )

    def delivery_url(self, url: str) -> str:
        """The local address a webhook signed for the public `url` is posted to."""
        if url.startswith(self.public_url + "/"):
            return self.deliver_to + url[len(self.public_url) :]
        return url

    async def _list_messages(self, request: Request) -> JSONResponse:
        with self._lock:
            messages = [message_json(m) for m in self.messages]
        return JSONResponse(messages)

    async def _inbound(self, request: Request) -> JSONResponse:
        form = await request.json()
        lost = bool(form.get("lost"))  # kept by Twilio, never posted to the service (it was down)
        response = await run_in_threadpool(self.send_inbound, str(form["from"]), str(form["body"]), lost=lost)
        if response is None:
            return JSONResponse({"status_code": None, "body": ""})
        return JSONResponse({"status_code": response.status_code, "body": response.text})

    async def _list_calls(self, request: Request) -> JSONResponse:
        with self._lock:
            calls = [call_json(c) for c in self.calls]
        return JSONResponse(calls)

    async def _answer(self, request: Request) -> JSONResponse:
        keys = [str(k) for k in (await request.json()).get("keys", [])]
        call = await run_in_threadpool(self.answer, request.path_params["sid"], *keys)
        return JSONResponse(call_json(call))

    async def _end(self, request: Request) -> JSONResponse:
        status = str((await request.json()).get("status", "no-answer"))
        await run_in_threadpool(self.end_call, request.path_params["sid"], status)
        return JSONResponse({"sid": request.path_params["sid"], "status": status})


def serve(
    port: int = typer.Option(..., help="port to listen on (127.0.0.1)"),
    public_url: str = typer.Option(..., help="the service's PUBLIC_BASE_URL: webhooks are signed for it"),
    deliver_to: str = typer.Option(..., help="where webhooks are posted, e.g. http://127.0.0.1:8000"),
    account_sid: str = typer.Option(..., envvar="TWILIO_ACCOUNT_SID", help="the account the client uses"),
    number: str = typer.Option("+815012345678", help="our number, the 'To' of inbound SMS"),
) -> None:
    """Run the fake Twilio until SIGTERM or Ctrl-C (the auth token from TWILIO_AUTH_TOKEN)."""
    token = os.environ.get("TWILIO_AUTH_TOKEN", "")
    if not token:
        raise typer.BadParameter("set TWILIO_AUTH_TOKEN in the environment", param_hint="TWILIO_AUTH_TOKEN")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    fake = PublicFakeTwilio(
        account_sid, token, public_url, deliver_to, number=number, port=port, auto_deliver=True
    )
    with fake:
        typer.echo(
            f"fake Twilio at {fake.url}, webhooks signed for {fake.public_url}, posted to {fake.deliver_to}"
        )
        while not stop.wait(0.5):
            pass
    typer.echo("fake Twilio stopped")
