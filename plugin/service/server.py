"""``exportgate serve``: the service under uvicorn, on one or several worker processes.

The configuration is read and checked (tokens included) before uvicorn
starts, so a bad file exits 2 like every command. With ``--workers N`` each
worker is a process with its own `Decider` (one ledger connection, one
engine), all on the configured ledger. TLS: behind a reverse proxy, or with
uvicorn's own ``--ssl-certfile``/``--ssl-keyfile`` (docs/service.md).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from .._settings import Settings


#: How ``serve`` on `opa` starts again with the Go runtime's settings
#: (`engines.opa.start_again_with_go_runtime`): the command line's entry point.
_RESTART = "import sys; from exportgate._cli import main; sys.exit(main())"

#: The factory uvicorn imports in each worker process.
FACTORY = "exportgate.service.server:worker_app"


def worker_app() -> Any:
    """The application of ``$EXPORTGATE_CONFIG`` in a worker process of ``--workers N``,
    with the process's collector tuned (`_heap`)."""
    from .. import _heap
    from .app import create_app
    _heap.tune()
    app = create_app()
    _heap.settle()
    return app


def serve(config: str | None, host: str, port: int, workers: int = 1,
          ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
          argv: Sequence[str] | None = None) -> None:
    """Serve until interrupted; ``argv`` is the command line's arguments, to start again
    with them on `opa` (Go reads its collector settings only from the environment a
    process starts with; None: this process is not started again)."""
    import uvicorn

    from .app import Service
    settings = Settings.load(config)
    if settings.engine_name == "opa" and argv is not None:
        from ..engines.opa import start_again_with_go_runtime
        start_again_with_go_runtime([sys.executable, "-c", _RESTART, *argv])
    options: dict[str, Any] = {"host": host, "port": port, "ssl_certfile": ssl_certfile,
                               "ssl_keyfile": ssl_keyfile, "log_level": "info",
                               "server_header": False}
    if workers > 1:
        Service(settings).decider.close()  # checks the configuration before forking
        if config is not None:
            os.environ["EXPORTGATE_CONFIG"] = os.path.abspath(config)
        uvicorn.run(FACTORY, factory=True, workers=workers, **options)
    else:
        from .. import _heap
        app = Service(settings).app()
        _heap.settle()  # the command line tuned the collector (`_cli.main`)
        uvicorn.run(app, **options)
