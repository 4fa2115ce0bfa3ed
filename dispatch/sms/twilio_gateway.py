"""The Twilio adapter: the only module that imports `twilio`. Sending, calling, TwiML, and webhook signatures
both ways."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from dispatch.phones import masked
from dispatch.sms.caller import CallRejected, CallUnavailable, PlacedCall
from dispatch.sms.gateway import (
    UNKNOWN,
    DeliveryStatus,
    ReceivedMessage,
    SentMessage,
    SmsRejected,
    SmsUnavailable,
    timed_sms_send,
)

log = logging.getLogger(__name__)
# The twilio client logs each request's method, URL and headers, then the answer's, at INFO: a dozen lines
# per SMS in a worker's log, written before the message leaves. Our own lines say what matters, masked.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
RETRY_DELAYS_S = (0.2, 0.5)
RECEIVED_MAX = 200  # SMS to our number read back in one pass (a night brings a few dozen)
ASK_TIMEOUT_S = 2.0
# Our credentials or our rate, not the recipient's number: retry later, never blame the physician.
ACCOUNT_PROBLEMS = frozenset({401, 403, 429})
# Where Twilio posts to us: a message to our number, and each outbound message's delivery status.
INBOUND_PATH = "/webhooks/twilio/sms"
STATUS_PATH = "/webhooks/twilio/status"


def _client(account_sid: str, auth_token: str, api_base_url: str | None, timeout_s: float) -> Client:
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout_s))
    if api_base_url:
        client.api.base_url = api_base_url.rstrip("/")  # tests and simulations: the fake Twilio
    return client


class TwilioGateway:
    """Sends through Twilio's Messages API; retries briefly on 5xx and network errors."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base_url: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.client = _client(account_sid, auth_token, api_base_url, timeout_s)
        # The reconciler's questions (a status, what was received) wait less: its pass runs every 5 s.
        self.asking = _client(account_sid, auth_token, api_base_url, min(timeout_s, ASK_TIMEOUT_S))
        self.from_number = from_number

    @timed_sms_send  # dispatch_sms_sends_total by outcome, dispatch_sms_send_duration_seconds
    def send(self, to: str, body: str, status_callback: str | None = None) -> SentMessage:
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            try:
                message = self.client.messages.create(
                    to=to, from_=self.from_number, body=body, status_callback=status_callback
                )
                return SentMessage(sid=message.sid, status=message.status)
            except TwilioRestException as exc:
                if exc.status < 500 and exc.status not in ACCOUNT_PROBLEMS:
                    raise SmsRejected(str(exc.code), exc.msg) from None
                log.warning(
                    "Twilio answered %s sending to %s (attempt %d)", exc.status, masked(to), attempt + 1
                )
            except Exception as exc:  # requests' connection errors and timeouts
                log.warning(
                    "Twilio unreachable sending to %s (attempt %d): %s",
                    masked(to),
                    attempt + 1,
                    type(exc).__name__,
                )
            if delay is None:
                raise SmsUnavailable("Twilio did not accept the message after retries")
            time.sleep(delay)
        raise AssertionError("unreachable")

    def status_of(self, sid: str) -> DeliveryStatus | None:
        """The message's status as Twilio has it now (one try: the reconciler asks again on its next pass)."""
        try:
            message = self.asking.messages(sid).fetch()
        except TwilioRestException as exc:
            log.warning("Twilio answered %s (error %s) asked for an SMS's status", exc.status, exc.code)
            if exc.status < 500 and exc.status not in ACCOUNT_PROBLEMS:
                return DeliveryStatus(UNKNOWN, str(exc.code))  # deleted, redacted, another account's
            return None
        except Exception as exc:  # requests' connection errors and timeouts
            log.warning("Twilio unreachable asked for an SMS's status: %s", type(exc).__name__)
            return None
        code = message.error_code
        return DeliveryStatus(str(message.status), str(code) if code else None)

    def received_since(self, since: datetime) -> list[ReceivedMessage] | None:
        """The SMS to our number from `since` on, newest first, at most RECEIVED_MAX (one try)."""
        try:
            # Twilio filters by day (GMT), newest first: read until the messages are older than `since`.
            listed = self.asking.messages.stream(
                to=self.from_number,
                date_sent_after=since.astimezone(UTC).strftime("%Y-%m-%d"),
                limit=RECEIVED_MAX,
                page_size=RECEIVED_MAX,  # one request
            )
            received: list[ReceivedMessage] = []
            for message in listed:
                at = message.date_sent or message.date_created
                if at is None or at < since:
                    break
                if message.direction == "inbound":
                    received.append(
                        ReceivedMessage(str(message.sid), str(message.from_), message.body or "", at)
                    )
            return received
        except TwilioRestException as exc:
            log.warning("Twilio answered %s (error %s) asked for the SMS received", exc.status, exc.code)
        except Exception as exc:  # requests' connection errors and timeouts
            log.warning("Twilio unreachable asked for the SMS received: %s", type(exc).__name__)
        return None


class TwilioCaller:
    """Calls through Twilio Programmable Voice (`calls.create`); retries briefly on 5xx and network errors."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base_url: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.client = _client(account_sid, auth_token, api_base_url, timeout_s)
        self.from_number = from_number

    def call(
        self, to: str, *, url: str | None = None, say: str | None = None, status_callback: str | None = None
    ) -> PlacedCall:
        """Ring `to`: Twilio fetches `url` for what to say, or says `say` (TwiML inline)."""
        extra: dict[str, object] = {"url": url} if url else {"twiml": twiml_say(say or "")}
        if status_callback:
            extra["status_callback"] = status_callback
            extra["status_callback_event"] = ["completed"]
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            try:
                call = self.client.calls.create(to=to, from_=self.from_number, **extra)
                return PlacedCall(sid=str(call.sid), status=str(call.status))
            except TwilioRestException as exc:
                if exc.status < 500 and exc.status not in ACCOUNT_PROBLEMS:
                    raise CallRejected(str(exc.code), exc.msg) from None
                log.warning("Twilio answered %s calling %s (attempt %d)", exc.status, masked(to), attempt + 1)
            except Exception as exc:  # requests' connection errors and timeouts
                log.warning(
                    "Twilio unreachable calling %s (attempt %d): %s",
                    masked(to),
                    attempt + 1,
                    type(exc).__name__,
                )
            if delay is None:
                raise CallUnavailable("Twilio did not accept the call after retries")
            time.sleep(delay)
        raise AssertionError("unreachable")


def signature_is_valid(auth_token: str, url: str, params: Mapping[str, str], signature: str) -> bool:
    """Whether `X-Twilio-Signature` matches the URL Twilio called and the form it posted."""
    return bool(signature) and RequestValidator(auth_token).validate(url, dict(params), signature)


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio would send: for the fake Twilio and the demo's phone simulator."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


def twiml_message(text: str | None) -> str:
    """A TwiML answer to an inbound SMS: one message back, or nothing at all."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


def twiml_gather(text: str, action: str, goodbye: str) -> str:
    """A call's TwiML: `text` said in Japanese while one key is awaited (posted to `action`), then `goodbye`."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=action, method="POST", timeout=8)
    gather.say(text, language="ja-JP")
    response.say(goodbye, language="ja-JP")
    return str(response)


def twiml_say(text: str) -> str:
    """A call's TwiML that says `text` in Japanese and hangs up."""
    response = VoiceResponse()
    response.say(text, language="ja-JP")
    return str(response)
