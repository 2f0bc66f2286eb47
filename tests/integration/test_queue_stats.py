"""Queue depth and consumers over AMQP; rates from a local server that answers like RabbitMQ's
management API (GET /api/queues/<vhost>, the fields of RabbitMQ 3.x)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

import pytest

from services.engine.queue_stats import queue_stats

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def management(rabbit_url):
    vhost = unquote(urlparse(rabbit_url).path[1:])
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            if self.path != f"/api/queues/{vhost.replace('/', '%2F')}":
                self.send_error(404)
                return
            body = json.dumps(
                [
                    {
                        "name": "refresh",
                        "vhost": vhost,
                        "messages": 12,
                        "messages_ready": 10,
                        "messages_unacknowledged": 2,
                        "consumers": 1,
                        "message_stats": {
                            "publish": 120,
                            "publish_details": {"rate": 4.2},
                            "deliver_get": 110,
                            "deliver_get_details": {"rate": 3.9},
                            "ack": 108,
                            "ack_details": {"rate": 3.8},
                        },
                    },
                    {
                        "name": "orders",
                        "vhost": vhost,
                        "messages": 0,
                        "messages_ready": 0,
                        "messages_unacknowledged": 0,
                        "consumers": 0,
                    },  # idle: no message_stats at all
                ]
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


def test_depth_and_consumers_come_from_amqp(rabbit_url, rabbit):
    rabbit.publish_raw("refresh", b"{}")
    stats = {s.queue: s for s in queue_stats(rabbit_url)}
    assert set(stats) >= {"refresh", "refresh.DQ", "refresh.XQ", "orders", "orders.XQ"}
    assert stats["refresh"].ready == 1 and stats["refresh"].kind == "work"
    assert stats["refresh.XQ"].kind == "dead_letter" and stats["refresh"].publish_rate is None


def test_rates_come_from_the_management_api_when_configured(rabbit_url, rabbit, management):
    url, seen = management
    stats = {s.queue: s for s in queue_stats(rabbit_url, url)}
    assert (stats["refresh"].publish_rate, stats["refresh"].deliver_rate, stats["refresh"].ack_rate) == (4.2, 3.9, 3.8)
    assert stats["refresh"].unacked == 2
    assert stats["orders"].publish_rate == 0.0
    assert stats["bots"].publish_rate is None  # not in the management answer
    assert seen[0][1].startswith("Basic ")


def test_a_management_api_that_does_not_answer_leaves_rates_out(rabbit_url, rabbit):
    from tests.support.ports import free_port

    stats = {s.queue: s for s in queue_stats(rabbit_url, f"http://127.0.0.1:{free_port()}")}
    assert stats["refresh"].publish_rate is None and stats["refresh"].consumers >= 0
