"""A local fake of Twilio's Messages and Calls APIs for tests and simulations.

It answers as Twilio does (201 with a message or call resource, 400 with error 21211 for a bad 'To' number,
401 with 20003 for bad credentials, injected 5xx, 503 through an outage), posts status callbacks signed with
`X-Twilio-Signature` (once: a post that fails is not made again), and delivers inbound SMS to the service's
webhook, signed the same way; the TwiML answer is recorded as a message sent back to the phone. A message
can be fetched, and the messages listed (by `To`, `From`, `DateSent>`), as the service does to find what a
lost callback never told it. The Calls API is `simulations.fake_twilio_calls`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from dispatch.embedded import free_port
from dispatch.sms.twilio_gateway import sign
from simulations.fake_twilio_calls import FakeCall, FakeCalls
from simulations.fake_twilio_calls import error as _error
from simulations.fake_twilio_calls import valid_number as _valid_number


@dataclass
class FakeMessage:
    sid: str
    to: str
    from_: str
    body: str
    status: str
    status_callback: str | None
    created_at: float = field(default_factory=time.time)
    via: str = "api"  # "api" for Messages API calls, "twiml" for webhook answers, "inbound" to our number
    error_code: str | None = None
    sent_at: datetime | None = None  # Twilio's date_sent, on the fake's clock (a test's clock, if given)


class FakeTwilio(FakeCalls):
    """Start with `with FakeTwilio(sid, token, webhook_url) as fake:`; point the twilio client at `fake.url`."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        webhook_url: str | None = None,
        number: str = "+815012345678",
        auto_deliver: bool = False,
        port: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid, self.auth_token, self.number = account_sid, auth_token, number
        self.clock = clock or (lambda: datetime.now(UTC))
        self.webhook_url = webhook_url
        self.auto_deliver = auto_deliver
        self.messages: list[FakeMessage] = []
        self.calls: list[FakeCall] = []
        self.requests = 0
        self.call_requests = 0
        self.fetched: list[str] = []  # sids of GETs of a message: the service asking for a lost status
        self._failures: list[int] = []
        self._rejected: set[str] = set()
        self._delay_s = 0.0
        self._outage: int | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app = Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{account}/Messages.json", self._create, methods=["POST"]),
                Route("/2010-04-01/Accounts/{account}/Messages.json", self._list, methods=["GET"]),
                Route("/2010-04-01/Accounts/{account}/Messages/{sid}.json", self._fetch, methods=["GET"]),
                Route("/2010-04-01/Accounts/{account}/Calls.json", self._create_call, methods=["POST"]),
            ]
        )
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._http = httpx.Client(timeout=10)

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> FakeTwilio:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Twilio did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._http.close()

    # -- behaviour controls ------------------------------------------------------------------------
    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next `count` Messages API calls with `status` (5xx: Twilio's 20500)."""
        with self._lock:
            self._failures.extend([status] * count)

    def outage(self, status: int = 503) -> None:
        """Answer every Messages API call with `status` until `recover()`: Twilio down for a while."""
        self._outage = status

    def recover(self) -> None:
        """End an `outage()`."""
        self._outage = None

    def reject(self, phone: str) -> None:
        """Treat `phone` as not a valid 'To' number (error 21211)."""
        self._rejected.add(phone)

    def delay(self, seconds: float) -> None:
        """Hold every Messages API answer this long (a slow or hanging Twilio)."""
        self._delay_s = seconds

    # -- the Messages API --------------------------------------------------------------------------
    async def _create(self, request: Request) -> JSONResponse:
        import asyncio

        self.requests += 1
        # The body first: `is_disconnected` would otherwise swallow it, and the form would wait for ever.
        form = await request.form()
        if self._delay_s:
            await asyncio.sleep(self._delay_s)
            if await request.is_disconnected():
                return _error(499, 20499, "client went away")  # never taken: nothing is sent
        arrived = time.time()  # when Twilio has the request: what the benchmark times an SMS by
        refused = self._refused(request)
        if refused is not None:
            return refused
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        if not body:
            return _error(400, 21602, "Message body is required.")
        if to in self._rejected or not _valid_number(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        message = FakeMessage(
            sid="SM" + uuid.uuid4().hex,
            to=to,
            from_=str(form.get("From", self.number)),
            body=body,
            status="queued",
            status_callback=str(form["StatusCallback"]) if form.get("StatusCallback") else None,
            created_at=arrived,
            sent_at=self.clock(),
        )
        with self._lock:
            self.messages.append(message)
        resource = self._resource(message)  # `queued`, before a delivery thread moves it on
        if self.auto_deliver and message.status_callback:
            threading.Thread(target=self.deliver, args=(message.sid,), daemon=True).start()
        return JSONResponse(resource, status_code=201)

    async def _fetch(self, request: Request) -> JSONResponse:
        """GET a message: its status now, whatever became of its status callbacks."""
        self.fetched.append(request.path_params["sid"])
        if not self._authorised(request):
            return _error(401, 20003, "Authenticate")
        if self._outage is not None:
            return _error(self._outage, 20503, "Service Unavailable")
        sid = request.path_params["sid"]
        message = next((m for m in self.messages if m.sid == sid and m.via == "api"), None)
        if message is None:
            return _error(404, 20404, f"The requested resource /Messages/{sid}.json was not found")
        return JSONResponse(self._resource(message))

    async def _list(self, request: Request) -> JSONResponse:
        """GET the messages, newest first, filtered as Twilio filters: `To`, `From`, and `DateSent>` by day
        (GMT); one page (`PageSize`, 50 by default)."""
        if not self._authorised(request):
            return _error(401, 20003, "Authenticate")
        if self._outage is not None:
            return _error(self._outage, 20503, "Service Unavailable")
        query = request.query_params
        after = query.get("DateSent>")
        day = datetime.fromisoformat(after[:10]).date() if after else None
        with self._lock:
            listed = [
                m
                for m in self.messages
                if m.via in ("api", "inbound")
                and query.get("To", m.to) == m.to
                and query.get("From", m.from_) == m.from_
                and (day is None or (m.sent_at is not None and m.sent_at.astimezone(UTC).date() >= day))
            ]
        listed.sort(key=lambda m: m.sent_at or datetime.min.replace(tzinfo=UTC), reverse=True)
        size = int(query.get("PageSize", "50"))
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return JSONResponse(
            {
                "messages": [self._resource(m) for m in listed[:size]],
                "page": 0,
                "page_size": size,
                "first_page_uri": uri,
                "next_page_uri": None,  # one page: a test never holds more than that
                "previous_page_uri": None,
                "uri": uri,
                "start": 0,
                "end": min(size, len(listed)) - 1,
            }
        )

    def _authorised(self, request: Request) -> bool:
        """Basic auth with the account's sid and token, on the account's own path."""
        auth = request.headers.get("authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return auth == expected and request.path_params["account"] == self.account_sid

    def _resource(self, message: FakeMessage) -> dict:
        """A message resource as Twilio's API gives it."""
        rfc2822 = "%a, %d %b %Y %H:%M:%S +0000"
        sent = message.sent_at.astimezone(UTC).strftime(rfc2822) if message.sent_at else None
        return {
            "sid": message.sid,
            "account_sid": self.account_sid,
            "to": message.to,
            "from": message.from_,
            "body": message.body,
            "status": message.status,
            "direction": "inbound" if message.via == "inbound" else "outbound-api",
            "num_segments": "1",
            "date_created": sent,
            "date_updated": datetime.now(UTC).strftime(rfc2822),
            "date_sent": sent,
            "price": None,
            "error_code": int(message.error_code) if message.error_code else None,
            "error_message": None,
            "api_version": "2010-04-01",
            "messaging_service_sid": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}.json",
        }

    # -- callbacks to the service ------------------------------------------------------------------
    def _post_signed(self, url: str, params: dict[str, str]) -> httpx.Response:
        headers = {"X-Twilio-Signature": sign(self.auth_token, url, params)}
        return self._http.post(self.delivery_url(url), data=params, headers=headers)

    def delivery_url(self, url: str) -> str:
        """Where a webhook signed for `url` is posted: `url` itself (a subclass may map a public URL)."""
        return url

    def deliver(
        self,
        sid: str,
        statuses: tuple[str, ...] = ("sent", "delivered"),
        error_code: str | None = None,
        lost: bool = False,
    ):
        """Post status callbacks for a message, signed as Twilio signs them. As Twilio, it posts each once and
        never again if the post fails; `lost`: the statuses change but no callback reaches the service."""
        message = next(m for m in self.messages if m.sid == sid)
        for status in statuses:
            message.status = status
            message.error_code = error_code if status in ("failed", "undelivered") else None
            if message.status_callback and not lost:
                params = {
                    "MessageSid": sid,
                    "MessageStatus": status,
                    "AccountSid": self.account_sid,
                    "To": message.to,
                    "From": message.from_,
                }
                if error_code:
                    params["ErrorCode"] = error_code
                # Twilio logs a failed post as error 11200 in its debugger and goes on; the status stands.
                with contextlib.suppress(httpx.HTTPError):
                    self._post_signed(message.status_callback, params)

    def send_inbound(
        self, from_: str, body: str, sid: str | None = None, signature: str | None = None, lost: bool = False
    ):
        """An SMS from a phone to our number, kept (Twilio lists it) and posted to the webhook; the TwiML answer
        goes back to the phone. None when the post did not reach the service (down, or `lost`: as if so)."""
        sid = sid or "SM" + uuid.uuid4().hex
        with self._lock:
            self.messages.append(
                FakeMessage(
                    sid, self.number, from_, body, "received", None, via="inbound", sent_at=self.clock()
                )
            )
        if lost:
            return None
        params = {
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "To": self.number,
            "Body": body,
            "NumMedia": "0",
        }
        webhook = self.webhook_url or ""
        headers = {"X-Twilio-Signature": signature or sign(self.auth_token, webhook, params)}
        try:
            response = self._http.post(self.delivery_url(webhook), data=params, headers=headers)
        except httpx.HTTPError:
            return None  # the service is down: Twilio logs error 11200 and never posts this one again
        if response.status_code == 200:
            for element in ET.fromstring(response.text).iter("Message"):
                with self._lock:
                    self.messages.append(
                        FakeMessage(
                            sid="SM" + uuid.uuid4().hex,
                            to=from_,
                            from_=self.number,
                            body=element.text or "",
                            status="delivered",
                            status_callback=None,
                            via="twiml",
                        )
                    )
        return response

    # -- inspection --------------------------------------------------------------------------------
    def sent_to(self, phone: str) -> list[FakeMessage]:
        with self._lock:
            return [m for m in self.messages if m.to == phone]

    def wait_for(self, predicate, timeout_s: float = 10.0) -> FakeMessage:
        """The first message matching `predicate`, waiting for it if need be."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                for message in self.messages:
                    if predicate(message):
                        return message
            time.sleep(0.02)
        raise TimeoutError("no such message reached the fake Twilio")
