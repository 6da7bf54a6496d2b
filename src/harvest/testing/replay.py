"""A local replay server: recorded fixtures served over real HTTP on 127.0.0.1, with faults on demand.

Tests, the demo and the benchmarks point a source's base URL here
(``HARVEST_CTGOV_URL=http://127.0.0.1:PORT/api/v2``) so the same code that
talks to the real site is exercised over real sockets. Two kinds of site:

- ``CtgovSite`` emulates the ClinicalTrials.gov API v2 from a folder of study
  JSON files: ``/studies/{id}`` (301 for aliases, 400/404 with text bodies),
  ``/studies`` paging with ``nextPageToken``, ``filter.advanced`` date ranges,
  ``query.titles``, ``countTotal``, ``/version``.
- ``StaticSite`` serves a mirror's recorded pages from ``routes.json``.

Faults (``server.add_fault``): HTTP status (429 with Retry-After, 503, ...),
connection reset, delay (read timeout), truncated body, garbage body,
oversize body. Run standalone: ``python -m harvest.testing.replay --help``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def json_reply(data: Any, status: int = 200) -> Reply:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, {"Content-Type": "application/json"})


class Site:
    """Answers requests for one site."""

    robots = "User-agent: *\nAllow: /\n"

    def respond(self, path: str, query: dict[str, list[str]]) -> Reply:
        raise NotImplementedError


_NCT = re.compile(r"^NCT\d{8}$")
_RANGE = re.compile(r"AREA\[LastUpdatePostDate\]RANGE\[([^,\]]*),([^\]]*)\]")


def _norm_title(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


class CtgovSite(Site):
    """The ClinicalTrials.gov API v2, emulated over a set of study objects."""

    def __init__(
        self,
        studies: list[dict[str, Any]] | None = None,
        *,
        prefix: str = "/api/v2",
        data_timestamp: str = "2026-11-20T09:00:05",
        max_page_size: int = 1000,
    ) -> None:
        self.prefix = prefix
        self.max_page_size = max_page_size  # the real API silently caps pageSize at 1000
        self.data_timestamp = data_timestamp
        self.version_holder: str | None = None  # set to simulate a new data release
        self.title_search_overrides: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.studies: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        for study in studies or []:
            self.put(study)

    @classmethod
    def from_dir(cls, folder: Path | str = FIXTURES / "ctgov", **kwargs: Any) -> CtgovSite:
        """Every study in ``studies/*.json``, plus those inside the recorded list pages in ``lists/``."""
        folder = Path(folder)
        studies: dict[str, dict[str, Any]] = {}
        for path in sorted((folder / "lists").glob("*.json")):
            for study in json.loads(path.read_text(encoding="utf-8")).get("studies", []):
                studies[study["protocolSection"]["identificationModule"]["nctId"]] = study
        for path in sorted((folder / "studies").glob("*.json")):
            study = json.loads(path.read_text(encoding="utf-8"))
            studies[study["protocolSection"]["identificationModule"]["nctId"]] = study
        return cls(list(studies.values()), **kwargs)

    def put(self, study: dict[str, Any]) -> None:
        ident = study["protocolSection"]["identificationModule"]
        with self._lock:
            self.studies[ident["nctId"]] = study
            for alias in ident.get("nctIdAliases") or []:
                self.aliases[alias] = ident["nctId"]

    def remove(self, nct_id: str) -> None:
        with self._lock:
            self.studies.pop(nct_id, None)

    def _served(self, study: dict[str, Any]) -> dict[str, Any]:
        if self.version_holder is None:
            return study
        served = copy.deepcopy(study)
        served.setdefault("derivedSection", {}).setdefault("miscInfoModule", {})["versionHolder"] = self.version_holder
        return served

    def respond(self, path: str, query: dict[str, list[str]]) -> Reply:
        if path == "/robots.txt":
            return Reply(200, self.robots.encode(), {"Content-Type": "text/plain"})
        if not path.startswith(self.prefix):
            return text_reply(404, "Not Found")
        route = path[len(self.prefix) :]
        if route == "/version":
            return json_reply({"apiVersion": "2.0.5", "dataTimestamp": self.data_timestamp})
        if route == "/studies":
            return self._list(query)
        if route.startswith("/studies/"):
            return self._one(route[len("/studies/") :])
        return text_reply(404, "Not Found")

    def _one(self, nct: str) -> Reply:
        if not _NCT.match(nct):
            return text_reply(400, f"Invalid NCT number: {nct}")
        with self._lock:
            if nct in self.aliases and nct not in self.studies:
                return Reply(301, b"", {"Location": f"{self.prefix}/studies/{self.aliases[nct]}"})
            study = self.studies.get(nct)
        if study is None:
            return text_reply(404, f"Study not found: {nct}")
        return json_reply(self._served(study))

    def _matching(self, query: dict[str, list[str]]) -> list[str]:
        with self._lock:
            ids = sorted(self.studies)
            studies = dict(self.studies)
        advanced = (query.get("filter.advanced") or [""])[0]
        if advanced:
            match = _RANGE.search(advanced)
            if not match:
                raise ValueError(f"unsupported filter.advanced: {advanced}")
            low, high = match.group(1), match.group(2)
            low = "" if low in ("MIN", "") else low
            high = "9999" if high in ("MAX", "") else high
            ids = [
                i
                for i in ids
                if low
                <= (
                    studies[i]["protocolSection"]
                    .get("statusModule", {})
                    .get("lastUpdatePostDateStruct", {})
                    .get("date")
                    or ""
                )
                <= high
            ]
        titles = (query.get("query.titles") or [""])[0].strip().strip('"')
        if titles:
            if titles in self.title_search_overrides:
                return ["@" + titles]
            wanted = _norm_title(titles)
            ids = [
                i
                for i in ids
                if any(
                    wanted in _norm_title(studies[i]["protocolSection"]["identificationModule"].get(k) or "")
                    for k in ("briefTitle", "officialTitle", "acronym")
                )
            ]
        return ids

    def _list(self, query: dict[str, list[str]]) -> Reply:
        try:
            size = min(int((query.get("pageSize") or ["10"])[0]), self.max_page_size)
        except ValueError:
            return text_reply(400, "pageSize must be an integer")
        if size < 1:
            return text_reply(400, "pageSize must be positive")
        signature = _signature({k: v for k, v in query.items() if k != "pageToken"})
        offset = 0
        token = (query.get("pageToken") or [""])[0]
        if token:
            try:
                sig, number = base64.urlsafe_b64decode(token.encode() + b"==").decode().split(":")
                offset = int(number)
            except (ValueError, UnicodeDecodeError):
                return text_reply(400, "Invalid pageToken")
            if sig != signature:
                return text_reply(400, "pageToken does not match the query parameters")
        try:
            ids = self._matching(query)
        except ValueError as exc:
            return text_reply(400, str(exc))
        if ids and ids[0].startswith("@"):
            return json_reply(self.title_search_overrides[ids[0][1:]])
        chunk = ids[offset : offset + size]
        with self._lock:
            page: dict[str, Any] = {"studies": [self._served(self.studies[i]) for i in chunk if i in self.studies]}
        if offset + size < len(ids):
            raw = f"{signature}:{offset + size}".encode()
            page["nextPageToken"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if not token and (query.get("countTotal") or [""])[0] == "true":
            page["totalCount"] = len(ids)
        return json_reply(page)


def _signature(query: dict[str, list[str]]) -> str:
    return hashlib.sha1(json.dumps(sorted(query.items())).encode()).hexdigest()[:10]


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
        body = b""
        if "file" in route:
            body = (self.folder / route["file"]).read_bytes()
            content_type = route.get("content_type", "text/html; charset=utf-8")
            headers["Content-Type"] = content_type
            if self.origin and self.own_url and not content_type.startswith("text/html"):
                body = body.replace(self.origin.encode(), self.own_url.encode())
        return Reply(status, body, headers)


@dataclass
class Fault:
    """One injected misbehaviour for requests whose path (and query) matches ``pattern``."""

    kind: str  # status | reset | delay | truncate | garbage | bad-encoding | oversize
    pattern: str = ".*"
    times: int = 1  # how many matching requests it affects; -1 = all
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    size: int = 0
    declare_length: bool = True

    def matches(self, target: str) -> bool:
        return self.times != 0 and re.search(self.pattern, target) is not None


class _QuietHTTPServer(ThreadingHTTPServer):
    """A client that hangs up mid-reply (a timeout, a retry) is normal here: note it, print nothing.

    The standard server prints a traceback to stderr, which in-process CLI tests capture as the command's own
    output.
    """

    daemon_threads = True
    handler_errors: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        self.handler_errors.append(repr(sys.exc_info()[1]))


class ReplayServer:
    """Serve one Site on 127.0.0.1 in a background thread. Use as a context manager."""

    def __init__(self, site: Site, host: str = "127.0.0.1", port: int = 0) -> None:
        self.site = site
        self.faults: list[Fault] = []
        self.requests: list[str] = []
        self.user_agents: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests served at once (politeness tests)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self._httpd = _QuietHTTPServer((host, port), Handler)
        self._httpd.handler_errors = []
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ReplayServer:
        if isinstance(self.site, StaticSite):
            self.site.own_url = self.url
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="replay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_fault(self, kind: str, pattern: str = ".*", times: int = 1, **options: Any) -> Fault:
        fault = Fault(kind, pattern, times, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, target: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(target):
                    if fault.times > 0:
                        fault.times -= 1
                    return fault
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests.append(handler.path)
            self.user_agents.add(handler.headers.get("User-Agent", ""))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._serve(handler)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        target = handler.path
        parts = urlsplit(target)
        fault = self._take_fault(target)
        if fault is not None and fault.kind == "reset":
            handler.close_connection = True
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.connection.close()
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault is not None and fault.kind == "status":
            reply = Reply(
                fault.status,
                f"injected HTTP {fault.status}\n".encode(),
                {"Content-Type": "text/plain", **fault.headers},
            )
        else:
            reply = self.site.respond(parts.path, parse_qs(parts.query, keep_blank_values=True))
        body = reply.body
        if fault is not None and fault.kind == "garbage":
            body = b"<html><body>Service temporarily unavailable \x00\xff</body></html>"
            reply = Reply(200, body, {"Content-Type": reply.headers.get("Content-Type", "text/html")})
        if fault is not None and fault.kind == "oversize":
            body = b"x" * fault.size
        if fault is not None and fault.kind == "bad-encoding":  # says gzip, is not (a proxy cut it short)
            body = b"\x1f\x8b\x08\x00" + body[:64]
            reply = Reply(reply.status, body, {**reply.headers, "Content-Encoding": "gzip"})
        declared = len(body)
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            if fault is not None and fault.kind == "oversize" and not fault.declare_length:
                handler.send_header("Connection", "close")
                handler.close_connection = True
            else:
                handler.send_header("Content-Length", str(declared))
            handler.end_headers()
            if fault is not None and fault.kind == "truncate":
                handler.wfile.write(body[: max(1, len(body) // 2)])
                handler.wfile.flush()
                handler.close_connection = True
                handler.connection.shutdown(socket.SHUT_RDWR)
                return
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            handler.close_connection = True


def serve_fixtures(sites: dict[str, Site]) -> dict[str, ReplayServer]:
    return {name: ReplayServer(site).start() for name, site in sites.items()}


def default_sites() -> dict[str, Site]:
    """The bundled fixtures: CT.gov plus every mirror folder that has a routes.json."""
    from harvest.sources import registered

    sites: dict[str, Site] = {"ctgov": CtgovSite.from_dir()}
    for name, cls in registered().items():
        folder = FIXTURES / name
        if name != "ctgov" and (folder / "routes.json").exists():
            sites[name] = StaticSite(folder, origin=cls.default_base_url)
    return sites


def base_url_env(servers: dict[str, ReplayServer]) -> dict[str, str]:
    """HARVEST_<SOURCE>_URL (and an unlimited rate) for each served site."""
    env = {}
    for name, server in servers.items():
        suffix = "/api/v2" if name == "ctgov" else ""
        env[f"HARVEST_{name.upper()}_URL"] = server.url + suffix
        env[f"HARVEST_{name.upper()}_RPS"] = "0"
    return env


def main() -> None:  # pragma: no cover - exercised by `make demo`
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="Serve the bundled fixtures on 127.0.0.1 until interrupted.")
    parser.parse_args()
    servers = serve_fixtures(default_sites())
    for name, value in base_url_env(servers).items():
        print(f"export {name}={value}", flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    for server in servers.values():
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
