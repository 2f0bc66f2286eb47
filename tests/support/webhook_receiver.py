"""A webhook receiver (http.server in a thread) that answers from a script and records every request,
checking its signature as a receiver would."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from services.notifications.webhooks import SIGNATURE_HEADER, verify_signature

SECRET = "whsec-test-0123456789abcdef"
OPEN_PORTS: set[int] = set()  # the ports of the receivers running now (local_allow)


def local_allow(host: str = "127.0.0.1/32") -> str:
    """A TICKWORK_SSRF_ALLOW that lets the running receivers through, each on its own port only."""
    return ",".join(f"{host}:{port}" for port in sorted(OPEN_PORTS))


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool


@dataclass
class Receiver:
    """`script`: one answer per request, in order (the last repeats): a status code, or
    ("redirect", status, location), or ("sleep", seconds, status)."""

    script: list[Any] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    scheme: str = "http"

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def next_answer(self) -> Any:
        index = min(len(self.requests) - 1, len(self.script) - 1)
        return self.script[index]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            header = self.headers.get(SIGNATURE_HEADER, "")
            receiver.requests.append(
                Received(
                    self.command,
                    self.path,
                    dict(self.headers.items()),
                    body,
                    verify_signature(SECRET, body, header, now=time.time()),
                )
            )
            answer = receiver.next_answer()
            if isinstance(answer, tuple) and answer[0] == "sleep":
                time.sleep(answer[1])
                answer = answer[2]
            if isinstance(answer, tuple) and answer[0] == "redirect":
                self.send_response(answer[1])
                self.send_header("Location", answer[2])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            text = b'{"ok": true}' if answer < 400 else b'{"error": "no"}'
            self.send_response(answer)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        do_POST = do_GET = _answer

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def webhook_receiver(*script: Any, host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None) -> Iterator[Receiver]:
    """Serve on `host` (HTTPS with `tls`: a certificate and its key)."""
    receiver = Receiver(list(script) or [200])
    server = ThreadingHTTPServer((host, 0), _handler(receiver))
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*map(str, tls))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        receiver.scheme = "https"
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    OPEN_PORTS.add(receiver.port)
    try:
        yield receiver
    finally:
        OPEN_PORTS.discard(receiver.port)
        server.shutdown()
        server.server_close()
