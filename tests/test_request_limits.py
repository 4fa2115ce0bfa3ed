"""Body caps: a body over its cap is refused with 413 before auth, signatures or anything else reads it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

CHUNK = b"x" * 65536
HUNDRED_MB = 100 * 1024 * 1024


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+), so the peak seen afterwards is this test's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _hundred_mb() -> Iterator[bytes]:
    for _ in range(HUNDRED_MB // len(CHUNK)):
        yield CHUNK


def _send_body(sock: socket.socket, chunked: bool, sent: list[int]) -> None:
    try:
        for chunk in _hundred_mb():
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            sent[0] += len(chunk)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed: the rest was not wanted


def _post_raw(port: int, path: str, chunked: bool) -> tuple[bytes, int]:
    """POST 100 MB over a raw socket (streamed, chunked or with Content-Length); the answer and bytes sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % HUNDRED_MB
    sock.sendall(
        b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n%s\r\n\r\n"
        % (path.encode(), framing)
    )
    sent = [0]
    sender = threading.Thread(target=_send_body, args=(sock, chunked, sent), daemon=True)
    sender.start()
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    sock.close()
    sender.join(30)
    return answer, sent[0]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_hundred_megabyte_body_is_refused_without_being_read(live_server, chunked):
    port = int(live_server.url.rsplit(":", 1)[1])
    import httpx

    assert httpx.get(live_server.url + "/livez").status_code == 200  # warm: the first request's allocations
    rss_before = _status_kib("VmRSS")
    peak_tracked = _reset_peak()
    answer, sent = _post_raw(port, "/api/v1/cases", chunked)
    grown_kib = (_status_kib("VmHWM") if peak_tracked else _status_kib("VmRSS")) - rss_before
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"x-request-id:" in head
    assert b"at most 131072 bytes" in answer
    assert sent < HUNDRED_MB  # the server stopped the upload
    assert grown_kib < 8 * 1024, f"the server grew by {grown_kib} KiB"


def test_the_json_cap_is_checked_before_authentication(client):
    big = client.post("/api/v1/cases", content=b"[" + b"1," * 70_000 + b"1]", headers={"X-Request-ID": "big-1"})
    assert big.status_code == 413
    assert big.json()["limit"] == 128 * 1024 and "API request" in big.json()["detail"]
    assert big.headers["x-request-id"] == "big-1"
    under = client.post("/api/v1/cases", json={"chief_complaint": "あ" * 4000})
    assert under.status_code == 401  # under the cap: on to authentication


def test_a_streamed_body_past_the_cap_is_refused_too(client):
    def stream() -> Iterator[bytes]:
        for _ in range(200):
            yield b"x" * 1024

    assert client.post("/api/v1/cases", content=stream()).status_code == 413


def test_the_twilio_webhook_cap_is_checked_before_the_signature(client):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    big = client.post("/webhooks/twilio/sms", content=b"Body=" + b"a" * 17_000, headers=form)
    assert big.status_code == 413 and big.json()["limit"] == 16 * 1024
    assert "Twilio webhook" in big.json()["detail"]
    small = client.post("/webhooks/twilio/sms", content=b"Body=" + b"a" * 10_000, headers=form)
    assert small.status_code == 403  # under the cap: on to the signature check


def test_the_console_form_cap(client):
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    big = client.post("/api/v1/auth/login", content=b"username=" + b"a" * 70_000, headers=form)
    assert big.status_code == 413 and big.json()["limit"] == 64 * 1024
    assert "form post" in big.json()["detail"]


def _exchange(port: int, request: bytes) -> bytes:
    """Send one request over a raw socket while reading; everything answered until the server closed."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)

    def send() -> None:
        with contextlib.suppress(OSError):  # closed on us mid-send: the rest was not wanted
            sock.sendall(request)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError:
        pass
    finally:
        sock.close()
        sender.join(5)
    return answer


def test_a_two_megabyte_header_is_refused_with_431_and_an_ordinary_request_still_served(live_server):
    port = int(live_server.url.rsplit(":", 1)[1])
    huge = b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * (2 * 1024 * 1024) + b"\r\n\r\n"
    rss_before = _status_kib("VmRSS")
    answer = _exchange(port, huge)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert b"at most 16 KiB" in answer
    assert _status_kib("VmRSS") - rss_before < 4 * 1024
    # A head that arrives whole in one read is measured as the parser hands it over.
    whole = b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 20_000 + b"\r\n\r\n"
    assert _exchange(port, whole).startswith(b"HTTP/1.1 431")
    # Large but lawful headers, with a body in the same packets, and a second request on the connection.
    body = b'{"n": "' + b"a" * 60_000 + b'"}'
    lawful = (
        b"POST /livez HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"b" * 12_000 + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    second = b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answers = _exchange(port, lawful + second)
    assert answers.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 431" not in answers, answers[:300]
