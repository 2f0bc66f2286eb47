"""The worker group's HTTP endpoint on METRICS_PORT: /metrics, /healthz and /readyz.

It runs as a Dramatiq fork process beside the workers and reads the samples every worker process
of the group wrote to the shared multiprocess folder.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.engine.health import check_broker, check_database
from services.metrics_dir import run_dir
from services.settings import get_settings


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._metrics()
        elif path == "/healthz":
            # The group is alive while its main process is: it stops every worker when one dies.
            self._json(200, {"status": "alive", "pid": os.getpid(), "group": os.getppid()})
        elif path == "/readyz":
            settings = get_settings()
            checks = {"broker": check_broker(settings.rabbitmq_url), "database": check_database(settings.database_url)}
            ready = all(result == "ok" for result in checks.values())
            self._json(200 if ready else 503, {"status": "ready" if ready else "not ready", **checks})
        else:
            self._json(404, {"error": f"no such endpoint {path!r}; try /metrics, /healthz or /readyz"})

    def _metrics(self) -> None:
        import prometheus_client as prom
        from prometheus_client import multiprocess

        registry = prom.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(run_dir(get_settings().tickwork_metrics_dir)))
        body = prom.generate_latest(registry)
        self.send_response(200)
        self.send_header("Content-Type", prom.CONTENT_TYPE_LATEST)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, object]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Scrapes every few seconds would drown the worker log."""


def serve_metrics() -> int:
    """Serve until the process is stopped (Dramatiq runs this as a fork)."""
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(run_dir(get_settings().tickwork_metrics_dir)))
    port = get_settings().metrics_port
    try:
        server = ThreadingHTTPServer(("0.0.0.0", port), _Handler)
    except OSError as error:
        # Dramatiq's main process does not watch its forks: stop the group, or it runs unobserved.
        print(
            f"tickwork: the worker group's metrics server cannot listen on 0.0.0.0:{port} ({error.strerror}); "
            "set METRICS_PORT to a free port. Stopping the group.",
            file=sys.stderr,
            flush=True,
        )
        os.kill(os.getppid(), signal.SIGTERM)
        return 2
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.shutdown()
    return 0
