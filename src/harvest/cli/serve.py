"""``harvest serve``: the file as a Datasette site a person can read, with nothing else to set up.

Datasette runs in this process on the file in its normal (not immutable) mode: it reads through read-only
connections, so the nightly job can keep writing (WAL) while people browse, and no write plugin is loaded.
The metadata is built here (``harvest.web.site_metadata``), the templates, CSS and the plugin that fills the
home and trial pages ship inside the package (``harvest/web``). Needs the optional extra: ``harvest[web]``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from harvest.cli.app import EXIT_CODES, Context, fail, handle_errors
from harvest.core.errors import EXIT_BAD_INPUT, EXIT_CANNOT_RUN, HarvestError
from harvest.query.synonyms import load as load_synonyms
from harvest.sources import registered
from harvest.sources.base import registry_name

EVERYWHERE = {"0.0.0.0", "::", "[::]"}


def datasette_args(
    db: str, metadata_path: Path, host: str, port: int, open_browser: bool, immutable: bool = False
) -> list[str]:
    """The `datasette serve` arguments for ``db``: our metadata, templates, static files and settings.
    ``immutable``: a file whose folder will not take WAL mode's -shm file, served as a snapshot (``-i``)."""
    from harvest.web import SETTINGS, STATIC, STATIC_MOUNT, TEMPLATES

    args = [
        *(["-i"] if immutable else []), db,
        "--metadata", str(metadata_path),
        "--template-dir", str(TEMPLATES),
        "--static", f"{STATIC_MOUNT}:{STATIC}",
        "--host", host,
        "--port", str(port),
    ]  # fmt: skip
    for name, value in SETTINGS.items():
        args += ["--setting", name, str(value)]
    if open_browser:
        args.append("--open")
    return args


def refuse_busy_address(host: str, port: int) -> None:
    """Bind the address as the web server will (SO_REUSEADDR), and let go: a port another program holds is one
    line and exit 3 here, not a "serving at" line followed by the web server's own error and shutdown lines."""
    if port == 0:
        return  # any free port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        why = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise HarvestError(f"cannot serve on {host}:{port}: {why}") from None


@contextlib.contextmanager
def access_log_on_stderr() -> Iterator[None]:
    """uvicorn writes its access log to stdout, where a command's data goes; harvest's logs go to stderr."""
    try:
        from uvicorn.config import LOGGING_CONFIG
    except ImportError:  # pragma: no cover - datasette brings uvicorn
        yield
        return
    handler = LOGGING_CONFIG["handlers"]["access"]
    before = handler.get("stream")
    handler["stream"] = "ext://sys.stderr"
    try:
        yield
    finally:
        handler["stream"] = before


@click.command(epilog=EXIT_CODES)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. 0.0.0.0 shows the file to every machine that can reach this one.",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the home page in a web browser.")
@click.pass_obj
@handle_errors
def serve(obj: Context, port: int, host: str, open_browser: bool) -> None:
    """Browse the file in a web browser: a Datasette site with a trial page and ranked search.

    \b
    harvest --db trials.db serve            # then open http://127.0.0.1:8001/
    Read-only, and safe while `harvest run` writes. Needs: pip install 'harvest[web]'
    """
    try:
        from datasette.cli import cli as datasette_cli
        from datasette.plugins import pm
    except ImportError:
        fail("harvest serve needs datasette: pip install 'harvest[web]'", EXIT_CANNOT_RUN)
        return
    from harvest.web import plugin, site_metadata

    store = obj.readonly_store()  # a missing file, or one that is not harvest's, is one line here
    immutable = store.immutable  # and one this reader cannot open in WAL mode is served as a snapshot
    store.close()
    refuse_busy_address(host, port)
    if host in EVERYWHERE:
        click.echo(
            f"harvest: warning: --host {host} serves the file to every machine that can reach this one", err=True
        )
    name = Path(obj.db).stem
    registered_here = not pm.is_registered(plugin)
    if registered_here:  # for this serve only: a Datasette used in-process elsewhere stays plain
        pm.register(plugin, name="harvest-site")
    try:
        with tempfile.TemporaryDirectory(prefix="harvest-serve-") as tmp:
            metadata_path = Path(tmp) / "metadata.json"
            document = site_metadata(name, registered(), registry=registry_name(), synonyms=load_synonyms())
            metadata_path.write_text(json.dumps(document, ensure_ascii=False), "utf-8")
            if not obj.quiet:
                click.echo(f"harvest: serving {obj.db} (read-only) at http://{host}:{port}/", err=True)
            args = datasette_args(obj.db, metadata_path, host, port, open_browser, immutable)
            with access_log_on_stderr():
                datasette_cli.main(["serve", *args], prog_name="harvest serve", standalone_mode=False)
    except click.ClickException as exc:
        fail(exc.format_message(), EXIT_BAD_INPUT)
    finally:
        if registered_here:
            pm.unregister(plugin)
