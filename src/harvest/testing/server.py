"""A local HTTP server for tests: one Site answered on 127.0.0.1 in a background thread, with faults on demand.

Faults (``server.add_fault``): HTTP status (429 with Retry-After, 503, ...), connection reset, delay (read
timeout), truncated body, garbage body, mangled gzip, oversize body, and a dribble: the whole reply, status line
and headers included, sent ``size`` bytes at a time every ``seconds`` (no read ever times out, the response
never seems to end). Hostile pages and sitemaps to serve with them are in ``harvest.testing.hostile``.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def etag_of(body: bytes) -> str:
    """A strong validator for a body: the same bytes, the same ETag."""
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def not_modified(reply: Reply, request_headers: Mapping[str, str]) -> Reply | None:
    """A 304 for a 200 whose validators the conditional request names (RFC 9110 §13: If-None-Match decides
    when given; else If-Modified-Since, to the second), with no body; None when the full reply is due."""
    if reply.status != 200:
        return None
    etag, modified = reply.headers.get("ETag"), reply.headers.get("Last-Modified")
    asked_etag, asked_since = request_headers.get("If-None-Match"), request_headers.get("If-Modified-Since")
    if asked_etag is not None:
        tags = {tag.strip() for tag in asked_etag.split(",")}
        fresh = etag is not None and (etag in tags or "*" in tags)
    elif asked_since is not None and modified is not None:
        try:
            fresh = email.utils.parsedate_to_datetime(modified) <= email.utils.parsedate_to_datetime(asked_since)
        except (TypeError, ValueError):
            fresh = False
    else:
        fresh = False
    if not fresh:
        return None
    kept = {name: value for name, value in reply.headers.items() if name in ("ETag", "Last-Modified")}
    return Reply(304, b"", kept)


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

    def served_at(self, url: str) -> None:
        """Told the server's own URL when it starts (a site that rewrites links to itself needs it)."""


@dataclass
class Fault:
    """One injected misbehaviour for requests whose path (and query) matches ``pattern``."""

    kind: str  # status | reset | delay | truncate | garbage | bad-encoding | oversize | dribble
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
        self.handler_errors.append(repr(sys.exc_info()[1]))


class ReplayServer:
    """Serve one Site on 127.0.0.1 in a background thread. Use as a context manager."""

    def __init__(self, site: Site, host: str = "127.0.0.1", port: int = 0) -> None:
        self.site = site
        self.faults: list[Fault] = []
        self.requests: list[str] = []
        self.answers: list[tuple[str, int]] = []  # (path, status) of every reply sent
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
        self.site.served_at(self.url)
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
            if fault is None:
                reply = not_modified(reply, handler.headers) or reply
        with self._lock:
            self.answers.append((target, reply.status))
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
        if fault is not None and fault.kind == "dribble":
            _dribble(handler, reply, body, fault)
            return
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


def _dribble(handler: BaseHTTPRequestHandler, reply: Reply, body: bytes, fault: Fault) -> None:
    """Send the reply ``fault.size`` bytes (default 1) at a time, ``fault.seconds`` apart, headers too: each read
    gets a byte well within any read timeout, and the response takes as long as the server likes."""
    head = [f"HTTP/1.1 {reply.status} {handler.responses.get(reply.status, ('',))[0]}"]
    head += [f"{name}: {value}" for name, value in reply.headers.items()]
    head += [f"Content-Length: {len(body)}", "Connection: close"]
    raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
    step = max(1, fault.size)
    handler.close_connection = True
    try:
        for start in range(0, len(raw), step):
            handler.wfile.write(raw[start : start + step])
            handler.wfile.flush()
            time.sleep(fault.seconds)
    except OSError:  # the client gave up (its deadline): the end of a dribble
        pass
