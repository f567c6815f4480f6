"""``exportgate serve``: the service under uvicorn, on one or several worker processes.

The configuration is read and checked (tokens included) before uvicorn
starts, so a bad file exits 2 like every command. With ``--workers N`` each
worker is a process with its own `Decider` (one ledger connection, one
engine), all on the configured ledger. TLS: behind a reverse proxy, or with
uvicorn's own ``--ssl-certfile``/``--ssl-keyfile`` (docs/service.md).
"""
from __future__ import annotations

import os
from typing import Any

from .._settings import Settings

#: The factory uvicorn imports in each worker process.
FACTORY = "exportgate.service.app:create_app"


def serve(config: str | None, host: str, port: int, workers: int = 1,
          ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
    import uvicorn

    from .app import Service
    settings = Settings.load(config)
    options: dict[str, Any] = {"host": host, "port": port, "ssl_certfile": ssl_certfile,
                               "ssl_keyfile": ssl_keyfile, "log_level": "info",
                               "server_header": False}
    if workers > 1:
        Service(settings).decider.close()  # checks the configuration before forking
        if config is not None:
            os.environ["EXPORTGATE_CONFIG"] = os.path.abspath(config)
        uvicorn.run(FACTORY, factory=True, workers=workers, **options)
    else:
        uvicorn.run(Service(settings).app(), **options)
