"""Replay recorded snapshots over real HTTP on loopback.

Layout: ``snapshots/<source_id>/<host>/<path>``; ``<host>/robots.txt`` is that host's
robots file; a URL path ending in ``/`` is stored as ``<path>/index.html``; a query string
is stored as ``<path>@<query>`` (``/`` and ``?`` kept as they are). An optional
``<host>/_types.json`` maps stored paths (relative to the host directory, e.g.
``"api/list@page=2"``) to a content type; otherwise the type comes from the file
extension, and extension-less files are served as ``text/html; charset=utf-8``. Files
other than host directories (``PROVENANCE.md``, reference files) are never served.

``ReplayServer(snapshots_dir, source_ids=None)`` starts one ``ThreadingHTTPServer`` per
recorded host on ``127.0.0.1:<free port>`` in daemon threads; ``.host_map`` gives
``{"www.komm-mach-mint.de": "127.0.0.1:40123", …}``, the value of the Scrapy setting
``REPLAY_HOSTS`` (see ``crawlers.middleware.ReplayMiddleware``).

Every file is served with an ``ETag`` (a hash of its bytes) and ``Last-Modified`` (its
mtime); a request whose ``If-None-Match`` matches gets ``304 Not Modified``, as a live
server would answer a conditional request.

How it fails: a missing file is a 404, a path escaping the host directory a 404, an
unknown ``source_ids`` entry a ``FileNotFoundError`` on enter; two sources recording the
same host share one server, which looks for each file in every such source's directory
(in source-id order; the first that has the file serves it).

Run ``python -m crawlers.replay [--port-base N] [SOURCE_ID …]`` to serve the snapshots
and print the host map as JSON (Ctrl-C stops it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mimetypes
import posixpath
import sys
import threading
from collections.abc import Iterable
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

DEFAULT_TYPE = "text/html; charset=utf-8"
TYPES_FILE = "_types.json"
_TEXT_TYPES = ("text/", "application/json", "application/ld+json", "application/xml")


def stored_path(url_path: str, query: str = "") -> str:
    """The file path (relative to the host directory) for a URL path and query."""
    path = unquote(url_path or "/")
    if path.endswith("/"):
        path += "index.html"
    path = path.lstrip("/")
    if query:
        path = f"{path}@{query}"
    return path


def guess_type(path: str, types: dict[str, str] | None = None) -> str:
    """Content type of a stored path: ``_types.json``, the extension, else HTML."""
    if types and path in types:
        return types[path]
    name = path.rsplit("/", 1)[-1].split("@", 1)[0]
    if "." not in name:
        return DEFAULT_TYPE
    ctype, _ = mimetypes.guess_type(name)
    if ctype is None:
        return "application/octet-stream"
    if ctype.startswith(_TEXT_TYPES) and "charset" not in ctype:
        ctype += "; charset=utf-8"
    return ctype


class HostDirectory:
    """One recorded host: its directory (or, when several sources recorded the same host,
    their directories in order) and each directory's optional ``_types.json``."""

    def __init__(self, roots: Path | list[Path]) -> None:
        self.roots = [r.resolve() for r in ([roots] if isinstance(roots, Path) else roots)]
        self.root = self.roots[0]
        self.types_by_root: list[dict[str, str]] = []
        for root in self.roots:
            types_file = root / TYPES_FILE
            types = {}
            if types_file.is_file():
                types = json.loads(types_file.read_text(encoding="utf-8"))
            self.types_by_root.append(types)
        self.types = self.types_by_root[0]

    def resolve(self, url_path: str, query: str) -> tuple[Path, str] | None:
        """The file and content type for a request, or ``None`` (-> 404)."""
        rel = stored_path(url_path, query)
        norm = posixpath.normpath(rel) if rel else ""
        if not norm or norm.startswith("..") or norm == TYPES_FILE:
            return None
        for root, types in zip(self.roots, self.types_by_root, strict=True):
            path = (root / norm).resolve()
            if path.is_relative_to(root) and path.is_file():
                return path, guess_type(norm, types)
        return None


def _make_handler(host_dir: HostDirectory) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "MINT-Suche-Replay/0.1"
        protocol_version = "HTTP/1.1"

        def _serve(self, *, body: bool) -> None:
            parts = urlsplit(self.path)
            found = host_dir.resolve(parts.path, parts.query)
            if found is None:
                payload = b"not recorded\n"
                self.send_response(HTTPStatus.NOT_FOUND)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if body:
                    self.wfile.write(payload)
                return
            path, ctype = found
            data = path.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            modified = formatdate(path.stat().st_mtime, usegmt=True)
            if self.headers.get("If-None-Match") == etag:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            self.end_headers()
            if body:
                self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            self._serve(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(body=False)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # quiet; Scrapy logs every request anyway

    return Handler


def recorded_hosts(
    snapshots_dir: str | Path, source_ids: Iterable[str] | None = None
) -> dict[str, list[Path]]:
    """Map each recorded host name to its directories, one per source that recorded it.

    Raises ``FileNotFoundError`` for a requested source id without a snapshot directory.
    """
    base = Path(snapshots_dir)
    if source_ids is None:
        source_dirs = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    else:
        source_dirs = []
        for sid in source_ids:
            d = base / sid
            if not d.is_dir():
                raise FileNotFoundError(f"no snapshot for source {sid!r}: {d} is missing")
            source_dirs.append(d)
    hosts: dict[str, list[Path]] = {}
    for sdir in source_dirs:
        for hdir in sorted(p for p in sdir.iterdir() if p.is_dir()):
            if "." in hdir.name or hdir.name == "localhost":
                hosts.setdefault(hdir.name, []).append(hdir)
    return hosts


class ReplayServer:
    """Serve ``snapshots/<source_id>/<host>/…`` on loopback, one server per host.

    Use as a context manager; ``host_map`` is valid inside it.
    """

    def __init__(
        self,
        snapshots_dir: str | Path,
        source_ids: Iterable[str] | None = None,
        *,
        port_base: int | None = None,
    ) -> None:
        self.snapshots_dir = Path(snapshots_dir)
        self.source_ids = list(source_ids) if source_ids is not None else None
        self.port_base = port_base
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []
        self.host_map: dict[str, str] = {}

    def start(self) -> ReplayServer:
        """Start the servers (``OSError`` if a port is taken with ``port_base``)."""
        hosts = recorded_hosts(self.snapshots_dir, self.source_ids)
        try:
            for i, (host, hdir) in enumerate(sorted(hosts.items())):
                port = self.port_base + i if self.port_base else 0
                server = ThreadingHTTPServer(
                    ("127.0.0.1", port), _make_handler(HostDirectory(hdir))
                )
                server.daemon_threads = True
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"replay-{host}",
                    daemon=True,
                )
                thread.start()
                self._servers.append(server)
                self._threads.append(thread)
                addr, bound_port = server.server_address[:2]
                self.host_map[host] = f"{addr}:{bound_port}"
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Shut the servers down (idempotent)."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        self.host_map = {}

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def default_snapshots_dir() -> Path:
    """``snapshots/`` at the repository root (next to ``sources.yaml``)."""
    return Path(__file__).resolve().parent.parent / "snapshots"


def main(argv: list[str] | None = None) -> int:
    """Serve snapshots until interrupted; prints the host map as one JSON line."""
    parser = argparse.ArgumentParser(
        prog="python -m crawlers.replay",
        description="Serve recorded snapshots on loopback, e.g. "
        "`python -m crawlers.replay --port-base 8100 komm_mach_mint`.",
    )
    parser.add_argument("source_ids", nargs="*", help="source ids (default: all)")
    parser.add_argument("--snapshots", default=str(default_snapshots_dir()))
    parser.add_argument("--port-base", type=int, default=None, help="first port (default: free)")
    args = parser.parse_args(argv)
    server = ReplayServer(args.snapshots, args.source_ids or None, port_base=args.port_base)
    try:
        server.start()
    except (OSError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(server.host_map), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
