"""A mirror's recorded pages, served by path from its ``routes.json``."""

from __future__ import annotations

import email.utils
import json
from pathlib import Path
from typing import Any

from harvest.testing.server import Reply, Site, etag_of


class StaticSite(Site):
    """A mirror's recorded pages, served by path from ``routes.json``.

    Absolute links to the real origin in served text (sitemaps, robots.txt) are
    rewritten to this server, so discovery stays on the replay server.
    """

    def __init__(self, folder: Path | str, origin: str | None = None) -> None:
        self.folder = Path(folder)
        self.routes: dict[str, dict[str, Any]] = json.loads((self.folder / "routes.json").read_text())
        self.origin = origin
        self.own_url = ""

    def served_at(self, url: str) -> None:
        self.own_url = url

    def respond(self, path: str, query: dict[str, list[str]]) -> Reply:
        route = self.routes.get(path)
        if route is None and path.endswith("/"):
            route = self.routes.get(path.rstrip("/"))
        elif route is None:
            route = self.routes.get(path + "/")
        if route is None:
            return Reply(
                404, b"<html><body><h1>404 Not Found</h1></body></html>", {"Content-Type": "text/html; charset=utf-8"}
            )
        status = int(route.get("status", 200))
        headers = {}
        if "location" in route:
            headers["Location"] = route["location"]
        body = route.get("body", b"")
        if "body" in route:
            headers["Content-Type"] = route.get("content_type", "text/html; charset=utf-8")
        if "file" in route:
            path = self.folder / route["file"]
            body = path.read_bytes()
            content_type = route.get("content_type", "text/html; charset=utf-8")
            headers["Content-Type"] = content_type
            if self.origin and self.own_url and not content_type.startswith("text/html"):
                body = body.replace(self.origin.encode(), self.own_url.encode())
            if status == 200:  # as a web server does for a file: a 304 then answers a matching conditional GET
                headers["ETag"] = etag_of(body)
                headers["Last-Modified"] = email.utils.formatdate(path.stat().st_mtime, usegmt=True)
        return Reply(status, body, headers)

    def answer(self, path: str, status: int) -> None:
        """From now on ``path`` answers ``status`` with no page (404 or 410: a page taken down)."""
        self.routes[path] = {"status": status}

    def put(self, path: str, body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200) -> None:
        """From now on ``path`` answers ``body`` (a page or sitemap a test built, ``harvest.testing.hostile``)."""
        self.routes[path] = {"body": body, "content_type": content_type, "status": status}
