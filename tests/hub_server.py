"""A local server that answers the Hugging Face hub's file protocol for the hub tests.

``huggingface_hub.hf_hub_download`` asks ``HEAD {endpoint}/{repo}/resolve/{revision}/{file}``
for the file's commit (``X-Repo-Commit``), ``ETag`` and size, then ``GET``s the same URL. Errors
come back as the hub sends them: 404 with ``X-Error-Code: EntryNotFound`` (and the commit) for
a file the repository lacks, 401 with ``X-Error-Code: RepoNotFound`` for a repository that does
not exist. Small (non-LFS) files are served directly, as the hub does.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


@dataclass
class HubRepo:
    files: dict[str, bytes]
    commit: str = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class FakeHub:
    repos: dict[str, HubRepo] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    endpoint: str = ""


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        self.hub.requests.append((self.command, self.path))
        parts = unquote(self.path.split("?", 1)[0]).lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            self._error(404, "EntryNotFound", None)
            return
        repo_id, revision, filename = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
        repo = self.hub.repos.get(repo_id)
        if repo is None or revision not in ("main", repo.commit):
            self._error(401, "RepoNotFound", None)
            return
        data = repo.files.get(filename)
        if data is None:
            self._error(404, "EntryNotFound", repo.commit)
            return
        self.send_response(200)
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _error(self, status: int, code: str, commit: str | None) -> None:
        message = b'{"error": "not found"}'
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        if commit is not None:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(message)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(message)


@contextmanager
def fake_hub(repos: dict[str, HubRepo]) -> Iterator[FakeHub]:
    """A running :class:`FakeHub` on 127.0.0.1; ``endpoint`` is its base URL."""
    hub = FakeHub(repos)
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    hub.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
