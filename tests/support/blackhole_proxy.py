"""A TCP proxy between a client (a worker) and a server (RabbitMQ) that can be told to drop every
byte of its open connections while keeping their sockets open: a half-open connection, as a
firewall or NAT that lost the flow's state leaves it, with no network namespace or iptables.

Neither side sees a FIN or a reset: only a heartbeat can tell the connection is gone. Connections
opened after `blackhole()` are forwarded, as a fresh flow through such a firewall is.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class ProxiedConnection:
    """One client connection and its upstream twin, with the times (monotonic) of what befell them."""

    client: socket.socket
    upstream: socket.socket
    opened_at: float
    blackholed_at: float | None = None
    client_closed_at: float | None = None
    upstream_closed_at: float | None = None
    dropped_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class BlackholeProxy:
    """Listens on 127.0.0.1:`port` and forwards each connection to `upstream` (host, port)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.connections: list[ProxiedConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def blackhole(self) -> float:
        """From now on drop every byte of the connections open now, both ways, for good; returns when (monotonic)."""
        now = time.monotonic()
        with self._lock:
            for connection in self.connections:
                if connection.client_closed_at is None and connection.upstream_closed_at is None:
                    connection.blackholed_at = now
        return now

    def opened_since(self, moment: float) -> list[ProxiedConnection]:
        with self._lock:
            return [c for c in self.connections if c.opened_at > moment]

    def blackholed(self) -> list[ProxiedConnection]:
        with self._lock:
            return [c for c in self.connections if c.blackholed_at is not None]

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            for connection in self.connections:
                for sock in (connection.client, connection.upstream):
                    with contextlib.suppress(OSError):
                        sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            connection = ProxiedConnection(client, upstream, time.monotonic())
            with self._lock:
                self.connections.append(connection)
            for source, target, side in ((client, upstream, "client"), (upstream, client, "upstream")):
                threading.Thread(
                    target=self._pump, args=(connection, source, target, side), name=f"proxy-{side}", daemon=True
                ).start()

    def _pump(self, connection: ProxiedConnection, source: socket.socket, target: socket.socket, side: str) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            with connection.lock:
                if not data:
                    setattr(connection, f"{side}_closed_at", time.monotonic())
                    # A blackholed flow passes no FIN either: the other side learns nothing.
                    if connection.blackholed_at is None:
                        with contextlib.suppress(OSError):
                            target.shutdown(socket.SHUT_WR)
                    return
                if connection.blackholed_at is not None:
                    connection.dropped_bytes += len(data)
                    continue
            try:
                target.sendall(data)
            except OSError:
                return
