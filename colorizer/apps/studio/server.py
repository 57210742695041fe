"""The studio's HTTP server: the page's files and its small JSON API over `colorizer.apps.studio.workspace.Studio`,
on the standard library's `http.server`.

Every asset is served from this package (`STATIC`): the page loads nothing from another site. On the loopback
address a request whose Host header names another site (DNS rebinding) is refused.
"""

import ipaddress
import json
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from colorizer.apps.studio.refusals import Refused, upload_name
from colorizer.apps.studio.workspace import Studio

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_JSON = 1 << 20  # bytes of a request's JSON body
STATIC = "static"  # the page: colorizer/apps/studio/static/, package data
PAGES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    **{f"/static/{name}": (name, "text/javascript; charset=utf-8") for name in ("drawing.js", "server.js", "app.js")},
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = {  # nothing from another origin, and no other page may frame this one
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Handler(BaseHTTPRequestHandler):
    """One request of the page: its files, or a call of its JSON API on `studio`."""

    server_version = "colorize-studio"
    studio: Studio  # set on the subclass `make_server` builds
    allowed_hosts: set[str] | None = None  # Host headers answered; None: any (another address was asked for)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  quiet: the page shows what went wrong
        pass

    # -- replies

    def send(self, status: HTTPStatus, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        """Reply ``body`` with the security headers and ``headers``."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, data: object, status: HTTPStatus = HTTPStatus.OK) -> None:
        """Reply ``data`` as JSON."""
        self.send(status, json.dumps(data).encode(), "application/json")

    def refuse(self, status: HTTPStatus, message: str) -> None:
        """Reply the error ``message``, which the page shows."""
        self.send_json({"error": message}, status)

    # -- requests

    def do_GET(self) -> None:  # noqa: N802
        self.answer(self.get)

    def do_POST(self) -> None:  # noqa: N802
        self.answer(self.post)

    def answer(self, route: Callable[[str, dict[str, str]], None]) -> None:
        """Run ``route`` on the path and query; a refusal, or any failure, is the reply, never the server's end."""
        try:
            if self.allowed_hosts is not None and self.headers.get("Host", "") not in self.allowed_hosts:
                raise Refused(HTTPStatus.MISDIRECTED_REQUEST, "this page answers only at its own address")
            url = urlsplit(self.path)
            route(url.path, {key: values[-1] for key, values in parse_qs(url.query).items()})
        except Refused as refused:
            self.close_connection = True
            self.refuse(refused.status, str(refused))
        except (BrokenPipeError, ConnectionResetError):  # the page stopped waiting (a newer request)
            self.close_connection = True
        except Exception as error:  # a bug or a broken photograph must not stop the server
            self.close_connection = True
            try:
                self.refuse(HTTPStatus.INTERNAL_SERVER_ERROR, f"the studio failed: {type(error).__name__}: {error}")
            except OSError:
                pass

    def get(self, path: str, query: dict[str, str]) -> None:
        """The page's files, what it starts from, a photograph opened, and its grey picture."""
        studio = self.studio
        if path in PAGES:
            name, content_type = PAGES[path]
            self.send(HTTPStatus.OK, resources.files(__package__).joinpath(STATIC, name).read_bytes(), content_type)
        elif path == "/api/info":
            self.send_json(studio.info())
        elif path == "/api/open":
            self.send_json(studio.describe(studio.open_file(query.get("name", ""))))
        elif path == "/api/before":
            self.send(HTTPStatus.OK, studio.before(studio.get(query.get("id"))), "image/jpeg")
        else:
            raise Refused(HTTPStatus.NOT_FOUND, f"nothing at {path}")

    def body(self, limit: int, what: str) -> bytes:
        """The request's body, at most ``limit`` bytes; `Refused` for no length or a larger one."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise Refused(HTTPStatus.LENGTH_REQUIRED, f"the {what} has no length") from None
        if length > limit:
            self.drain(length)
            raise Refused(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the {what} is {length / 2**20:.1f} MB; "
                f"this page takes at most {limit / 2**20:g} MB (colorize-studio --max-upload-mb)",
            )
        return self.rfile.read(length)

    def drain(self, length: int) -> None:
        """Read what the browser sends past the limit, up to 4 times it, so that it reads the reply instead of
        a reset connection; past that the connection is closed."""
        left = min(length, 4 * max(self.studio.max_upload, MAX_JSON))
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)

    def json_body(self) -> dict:
        """The request's body, a JSON object; `Refused` for anything else."""
        if self.headers.get_content_type() != "application/json":  # also makes a cross-site form need a preflight
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "expected application/json")
        try:
            data = json.loads(self.body(MAX_JSON, "request"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is not JSON") from None
        if not isinstance(data, dict):
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is not a JSON object")
        return data

    def post(self, path: str, query: dict[str, str]) -> None:
        """An upload opened, a colouring, suggestions at a point, a Save."""
        studio = self.studio
        if path == "/api/upload":
            if "X-File-Name" not in self.headers:  # a custom header: a cross-site page cannot send it unasked
                raise Refused(HTTPStatus.BAD_REQUEST, "an upload names its file in X-File-Name")
            name = upload_name(self.headers["X-File-Name"])
            data = self.body(studio.max_upload, f"photograph {name}")
            self.send_json(studio.describe(studio.open_upload(name, data)))
            return
        if path not in ("/api/colour", "/api/suggest", "/api/save"):
            raise Refused(HTTPStatus.NOT_FOUND, f"nothing at {path}")
        data = self.json_body()
        opened = studio.get(data.get("id"))
        points = data.get("points", [])
        if path == "/api/colour":
            done = studio.preview(opened, points, data.get("seq", 0))
            if done is None:
                self.send_json({"superseded": True}, HTTPStatus.CONFLICT)
                return
            picture, took = done
            timing = ", ".join(f"{key};dur={value:.1f}" for key, value in took.items())
            self.send(HTTPStatus.OK, picture, "image/jpeg", {"Server-Timing": timing})
        elif path == "/api/suggest":
            found = studio.suggestions(opened, data.get("x"), data.get("y"), points, data.get("seq", 0))
            if found is None:
                self.send_json({"superseded": True}, HTTPStatus.CONFLICT)
            else:
                self.send_json({"suggestions": found})
        else:
            self.send_json(studio.save(opened, points))


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: localhost, 127.0.0.0/8 or ::1."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_server(studio: Studio, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """A server for ``studio`` listening on ``host``:``port`` (0: any free port), not yet serving."""

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        daemon_threads = True

    server = Server((host.strip("[]"), port), type("StudioHandler", (Handler,), {"studio": studio}))
    if is_loopback(host):
        port = server.server_address[1]
        server.RequestHandlerClass.allowed_hosts = {
            f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]", host)
        }
    return server


def serve_in_background(studio: Studio, host: str = DEFAULT_HOST, port: int = 0) -> ThreadingHTTPServer:
    """A server for ``studio`` answering from a daemon thread (for tests and benchmarks); ``shutdown()`` stops it."""
    server = make_server(studio, host, port)
    threading.Thread(target=server.serve_forever, name="colorize-studio", daemon=True).start()
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    """The address to open ``server``'s page at."""
    host, port = server.server_address[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
