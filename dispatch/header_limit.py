"""Request headers bounded under httptools as well: uvicorn bounds them only under h11
(`h11_max_incomplete_event_size`), and httptools would gather a header of any size before handing it over.

`dispatch serve` runs uvicorn with this protocol when httptools is installed (`uvicorn[standard]`): past
`MAX_HEAD_BYTES` of request line and headers the connection gets 431 and is closed. The head's bytes are
counted as the parser hands them over, and, for a head still incomplete, as they arrive, so the parser
keeps at most the bound and one read. Bodies are capped by `dispatch.body_limit`.
"""

from __future__ import annotations

MAX_HEAD_BYTES = 16 * 1024
MESSAGE = f"request headers too large: at most {MAX_HEAD_BYTES // 1024} KiB".encode()
_ANSWER = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(MESSAGE)).encode() + b"\r\n\r\n" + MESSAGE
)

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools runs h11, bounded by its own setting
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


class HeadTooLarge(Exception):
    """A request's line and headers passed `MAX_HEAD_BYTES`."""


if HttpToolsProtocol is not None:

    class BoundedHeadProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, refusing a request head larger than `MAX_HEAD_BYTES`."""

        _reading_head = True
        _head_bytes = 0  # of a head still incomplete after a read
        _parsed = 0  # of the head the parser handed over
        _messages = 0
        _too_large = False

        def data_received(self, data: bytes) -> None:
            """Parse, then count a chunk that left the head incomplete: 431 and close past the bound."""
            messages = self._messages
            super().data_received(data)
            if not self._reading_head or self.transport.is_closing():
                return
            if self._messages != messages:
                # A request ended in this chunk and the next one's head began in it: its share is not
                # known, so it is not counted (the bound may be passed by at most one read).
                self._head_bytes = 0
                return
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse()

        def _refuse(self) -> None:
            self.transport.write(_ANSWER)
            self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._parsed = 0

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def _count(self, size: int) -> None:
            self._parsed += size
            if self._parsed > MAX_HEAD_BYTES:
                self._too_large = True
                raise HeadTooLarge  # the parser stops; uvicorn answers through send_400_response

        def send_400_response(self, msg: str) -> None:
            """431 for a head past the bound, uvicorn's 400 for any other bad request."""
            if self._too_large:
                self._refuse()
            else:
                super().send_400_response(msg)

        def on_headers_complete(self) -> None:
            self._reading_head, self._head_bytes = False, 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._reading_head = True  # a kept-alive connection's next request
            self._messages += 1


def http_protocol() -> str | type:
    """What `dispatch serve` passes uvicorn as `http`: the bounded protocol, or h11 without httptools."""
    return BoundedHeadProtocol if HttpToolsProtocol is not None else "h11"
