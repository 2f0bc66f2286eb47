"""The API as a user runs it: `tickwork api` in its own process, called over HTTP with tokens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import requests

from services.api.tokens import create_token
from services.storage.db import session_scope
from tests.support.ports import free_port
from tests.support.workers import ROOT, wait_for

TICKWORK = str(Path(sys.executable).with_name("tickwork"))


class ApiServer:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = env["DATABASE_URL"]
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [TICKWORK, "api", "--port", str(self.port)], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for(self._ready, 30, f"the API to answer (log: {log_path})", interval=0.1)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"tickwork api exited with {self.process.returncode}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow on a loaded machine
            return False

    def token(self, *scopes: str, name: str = "test") -> str:
        with session_scope(self.database_url) as session:
            _, token = create_token(session=session, name=name, scopes=scopes)
        return token

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self._log.close()
