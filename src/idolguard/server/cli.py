"""``idolguard serve [--portal]`` and ``idolguard worker``.

``serve --portal`` runs two separate ASGI apps in one process, each on its own socket: the team app (keep it
on an internal address) and the public portal (put it behind the internet-facing proxy). They share the
workspace, nothing else: no routes, cookies, middleware or CSP; a team URL asked of the portal's port is a
portal 404. The portal stays runnable alone (``idolguard portal serve``, several processes if wanted).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from idolguard.cli_support import (
    N_,
    console,
    engine_option,
    home_option,
    open_workspace,
    ray_address_option,
    ray_vault_option,
    tell,
    tr,
)

PANEL_WEB = N_("Team web app")


def _servers(apps: list[tuple[Any, str, int]]) -> list[Any]:
    import uvicorn

    class Server(uvicorn.Server):
        """Signals are handled once for all servers (uvicorn's own handler would stop only one)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    servers = []
    for app, host, port in apps:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # no addresses, status tokens or item hashes in logs
            proxy_headers=False,  # the portal reads X-Forwarded-For itself, only from its trusted proxies
            server_header=False,
            lifespan="on",
        )
        servers.append(Server(config))
    return servers


def run_servers(apps: list[tuple[Any, str, int]]) -> None:
    """Serve each (app, host, port) until SIGINT/SIGTERM; a second signal forces the exit."""
    import asyncio

    servers = _servers(apps)

    def stop(_sig: int, _frame: Any) -> None:
        for server in servers:
            if server.should_exit:
                server.force_exit = True
            server.should_exit = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    async def main() -> None:
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for server in servers:  # one stopped (or failed to bind): stop the other too
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()

    try:
        asyncio.run(main())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if any(not server.started for server in servers):
        raise SystemExit(1)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Team app address (keep it internal)."),
    port: int = typer.Option(8000, "--port", help="Team app port."),
    portal: bool = typer.Option(False, "--portal", help="Also serve the public report portal on its own port."),
    portal_host: str = typer.Option("127.0.0.1", "--portal-host", help="Portal address."),
    portal_port: int = typer.Option(8080, "--portal-port", help="Portal port (must differ from --port)."),
    worker: bool = typer.Option(True, "--worker/--no-worker", help="Run a job worker inside the server."),
    engine: str = engine_option(),
    ray_address: str = ray_address_option(),
    ray_vault: str = ray_vault_option(),
    ray_workers: int = typer.Option(None, "--ray-workers", min=1, help="Ray workers (default: one per CPU)."),
    home: Path = home_option(),
) -> None:
    """Run the web app (and, by default, an in-process job worker; with --portal, the public portal too).

    With --engine ray the in-process worker's analysis is computed on the Ray cluster, as with 'idolguard worker
    --engine ray' (checked at start: exit 4 when it cannot be used)."""
    from idolguard.cli_support import fail
    from idolguard.exit_codes import ExitCode
    from idolguard.server.queues import Worker
    from idolguard.web.accounts import ensure_first_admin
    from idolguard.web.app import create_app
    from idolguard.web.cli import print_login
    from idolguard.web.triage import sync_missing

    if portal and (portal_host, portal_port) == (host, port):
        fail("the portal needs its own port (--portal-port differs from --port)", ExitCode.USAGE)
    if not worker and (engine != "local" or ray_address is not None or ray_vault != "auto" or ray_workers):
        fail("--engine and the --ray-* options choose where the in-process worker analyses: drop --no-worker")
    ws = open_workspace(home)
    chosen = _analysis_engine(ws, engine, ray_workers, ray_address, ray_vault) if worker else None
    created = ensure_first_admin(ws)
    if created:
        tell("[bold]First administrator created. This login is shown only once:[/]")
        print_login(created)
    else:
        tell("accounts exist (the first login was shown once); another admin: idolguard users add NAME --role admin")
    synced = sync_missing(ws)
    if synced:
        tell("triage queue: {n} items added", n=synced)
    from idolguard.server.fan import install as with_fan_reports

    apps: list[tuple[Any, str, int]] = [(with_fan_reports(create_app(ws)), host, port)]
    if portal:
        from idolguard.portal.app import create_app as create_portal
        from idolguard.portal.settings import artists_warning

        warning = artists_warning(ws)
        if warning:
            console.print(tr(warning))  # the catalog has it as written (markup included)
        public = create_portal(ws.home, public_url=f"http://{portal_host}:{portal_port}")
        apps.append((public, portal_host, portal_port))
    background = Worker(ws) if worker else None
    if background:
        background.start()
    tell("IdolGuard web app on {url}", url=f"http://{host}:{port}/")
    if portal:
        tell("public report portal on {url}", url=f"http://{portal_host}:{portal_port}/")
    try:
        run_servers(apps)
    finally:
        if background:
            background.stop()
        _release_engine(chosen)


def _analysis_engine(ws: Any, engine: str, workers: int | None, address: str | None, vault: str) -> Any:
    """The engine this process's jobs analyse with (``runner.use_engine``), started and checked now; the
    local default needs nothing. Bad option combinations are usage errors (exit 2)."""
    from idolguard.cli_support import fail
    from idolguard.pipeline.ray_engine import RayEngine, choose_engine
    from idolguard.pipeline.runner import use_engine

    try:
        chosen = choose_engine(ws, engine, workers=workers, address=address, vault=vault)
    except ValueError as exc:
        fail(exc)
    if not isinstance(chosen, RayEngine):
        return None
    use_engine(chosen)
    tell("analysis on Ray: {nodes} node(s), {workers} worker(s)", nodes=len(chosen.nodes), workers=chosen.worker_count)
    return chosen


def _release_engine(chosen: Any) -> None:
    from idolguard.pipeline.runner import use_engine

    if chosen is not None:
        use_engine(None)
        chosen.close()


def worker_command(
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="Threads for the analysts' jobs."),
    background_workers: int = typer.Option(
        None, "--background-workers", min=1, max=32, help="Threads for reported links and watches ([worker])."
    ),
    engine: str = engine_option(),
    ray_address: str = ray_address_option(),
    ray_vault: str = ray_vault_option(),
    ray_workers: int = typer.Option(None, "--ray-workers", min=1, help="Ray workers (default: one per CPU)."),
    home: Path = home_option(),
) -> None:
    """Run job workers outside the web server: analysts' uploads and captures, reported links, scheduled
    watches (watch run --due); stops on Ctrl-C or SIGTERM.

    With --engine ray the jobs' analysis is computed on the Ray cluster (checked at start: exit 4 when it
    cannot be used) and stored here; the job threads take turns on the cluster (docs/SCALING.md)."""
    import threading

    from idolguard.server.queues import Worker

    ws = open_workspace(home)
    chosen = _analysis_engine(ws, engine, ray_workers, ray_address, ray_vault)
    running = Worker(ws, workers=workers, background_workers=background_workers)
    halt = threading.Event()
    running.start()  # Huey's consumers install their own signal handlers: ours go in after them
    previous = {sig: signal.signal(sig, lambda *_: halt.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    tell("job worker running (Ctrl-C stops it)")
    try:
        while not halt.wait(1.0):
            pass
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _release_engine(chosen)


def register(app: typer.Typer, groups: dict[str, typer.Typer]) -> None:
    app.command("serve", rich_help_panel=PANEL_WEB)(serve)
    app.command("worker", rich_help_panel=PANEL_WEB)(worker_command)
