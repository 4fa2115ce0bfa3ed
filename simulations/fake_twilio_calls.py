"""The fake Twilio's Calls API (`FakeTwilio` takes it in), and what both its APIs answer with: Twilio's error
bodies and its check of a 'To' number.

A call rings until the test picks it up (`answer`: the fake fetches the call's TwiML, says its <Say>s, presses
the keys given to each <Gather> and posts them to its action, all signed; then the status callback) or lets
it ring out (`end_call`)."""

from __future__ import annotations

import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import phonenumbers
from starlette.requests import Request
from starlette.responses import JSONResponse

from dispatch.sms.twilio_gateway import sign

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


def error(status: int, code: int, message: str) -> JSONResponse:
    """An error as Twilio's REST API answers it."""
    return JSONResponse(
        {"code": code, "message": message, "more_info": MORE_INFO.format(code=code), "status": status},
        status_code=status,
    )


def valid_number(text: str) -> bool:
    """Whether Twilio would take `text` as a 'To' number (E.164, a valid number)."""
    try:
        return text.startswith("+") and phonenumbers.is_valid_number(phonenumbers.parse(text, None))
    except phonenumbers.NumberParseException:
        return False


@dataclass
class FakeCall:
    sid: str
    to: str
    from_: str
    url: str | None
    method: str
    twiml: str | None  # given inline instead of a URL
    status_callback: str | None
    status: str = "queued"
    said: list[str] = field(default_factory=list)  # every <Say> heard, in order
    created_at: float = field(default_factory=time.time)


class FakeCalls:
    """The Calls API of `FakeTwilio`, which holds the state and the helpers named below."""

    account_sid: str
    auth_token: str
    calls: list[FakeCall]
    call_requests: int
    _failures: list[int]
    _rejected: set[str]
    _outage: int | None
    _lock: threading.Lock
    _http: httpx.Client

    def _authorised(self, request: Request) -> bool:
        raise NotImplementedError

    def _post_signed(self, url: str, params: dict[str, str]) -> httpx.Response:
        raise NotImplementedError

    def delivery_url(self, url: str) -> str:
        raise NotImplementedError

    def _refused(self, request: Request) -> JSONResponse | None:
        """What Twilio answers a create with before looking at it: bad credentials, an outage, an injected
        failure (the next of `fail_next`); None when it goes on."""
        if not self._authorised(request):
            return error(401, 20003, "Authenticate")
        if self._outage is not None:
            return error(self._outage, 20503, "Service Unavailable")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure:
            return error(failure, 20500, "Internal Server Error")
        return None

    async def _create_call(self, request: Request) -> JSONResponse:
        self.call_requests += 1  # `requests` counts the Messages API's alone
        form = await request.form()
        refused = self._refused(request)
        if refused is not None:
            return refused
        to, url, twiml = str(form.get("To", "")), form.get("Url"), form.get("Twiml")
        if not to:
            return error(400, 21201, "No 'To' number is specified")
        if not form.get("From"):
            return error(400, 21213, "No 'From' number is specified")
        if to in self._rejected or not valid_number(to):
            return error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not url and not twiml:
            return error(400, 21205, "Url parameter is required.")
        if url and not str(url).startswith(("http://", "https://")):
            return error(400, 21205, f"Url is not a valid URL: {url}")
        call = FakeCall(
            sid="CA" + uuid.uuid4().hex,
            to=to,
            from_=str(form["From"]),
            url=str(url) if url else None,
            method=str(form.get("Method", "POST")).upper(),
            twiml=str(twiml) if twiml else None,
            status_callback=str(form["StatusCallback"]) if form.get("StatusCallback") else None,
        )
        with self._lock:
            self.calls.append(call)
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return JSONResponse(
            {
                "sid": call.sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": call.from_,
                "status": "queued",
                "direction": "outbound-api",
                "date_created": now,
                "date_updated": now,
                "start_time": None,
                "end_time": None,
                "duration": None,
                "price": None,
                "answered_by": None,
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call.sid}.json",
            },
            status_code=201,
        )

    def _call_params(self, call: FakeCall, status: str) -> dict[str, str]:
        return {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            "Called": call.to,
            "Caller": call.from_,
        }

    def _fetch_twiml(self, call: FakeCall, url: str, method: str, params: dict[str, str]) -> str:
        """Ask the service for TwiML as Twilio does: signed for `url` (a GET signs the URL with its query)."""
        if method == "GET":
            full = url + ("&" if "?" in url else "?") + urlencode(params)
            headers = {"X-Twilio-Signature": sign(self.auth_token, full, {})}
            response = self._http.get(self.delivery_url(full), headers=headers)
        else:
            response = self._post_signed(url, params)
        if response.status_code != 200:
            raise RuntimeError(f"the service answered {response.status_code} for the call's TwiML")
        return response.text

    def answer(self, sid: str, *keys: str) -> FakeCall:
        """The phone picks up: fetch the call's TwiML, hear each <Say>, press the next of `keys` at each
        <Gather> (none left: the gather times out and the call goes on), then hang up (status `completed`)."""
        call = next(c for c in self.calls if c.sid == sid)
        call.status = "in-progress"
        pressed = list(keys)
        twiml: str | None = call.twiml or self._fetch_twiml(
            call, call.url or "", call.method, self._call_params(call, "in-progress")
        )
        while twiml:
            following = None
            for verb in ET.fromstring(twiml):
                if verb.tag == "Say":
                    call.said.append(verb.text or "")
                elif verb.tag == "Gather":
                    call.said.extend(say.text or "" for say in verb.iter("Say"))
                    if pressed:
                        params = {
                            **self._call_params(call, "in-progress"),
                            "Digits": pressed.pop(0),
                            "FinishedOnKey": "",
                        }
                        action = verb.get("action") or call.url or ""
                        following = self._fetch_twiml(call, action, verb.get("method", "POST").upper(), params)
                        break  # the action's TwiML replaces the rest of this document
                elif verb.tag == "Hangup":
                    break
            twiml = following
        self.end_call(sid, "completed")
        return call

    def end_call(self, sid: str, status: str = "no-answer") -> None:
        """The call ends (`no-answer`, `busy`, `failed`: it rang out; `completed`: after `answer`); the
        status callback is posted, signed."""
        call = next(c for c in self.calls if c.sid == sid)
        call.status = status
        if call.status_callback:
            params = {**self._call_params(call, status), "CallDuration": "0" if status != "completed" else "20"}
            self._post_signed(call.status_callback, params)

    def calls_to(self, phone: str) -> list[FakeCall]:
        with self._lock:
            return [c for c in self.calls if c.to == phone]
