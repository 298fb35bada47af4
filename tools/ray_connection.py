"""This process's connection to a Ray cluster, for the jobs that use one (Ray dedupe, the Ray build executor).

One place for what every Ray job here needs: the extra's install hint when ``ray`` is missing, a
``HOST:PORT`` where nothing listens refused at once (``ray.init`` would retry it for minutes), a bad address
turned into a sentence that says what to do, and stdout kept for results. Ray's driver prints cluster errors
("(raylet) node ... marked dead") to ``sys.stdout`` from a background thread; stdout carries results
(``--json``, the MCP stdio stream), so while connected Python's stdout is stderr.

Disconnecting matters too: Ray ends a driver whose cluster stops, so a long-lived process (a test run, the MCP
server) lets go when its job is done. A process that was connected already (a notebook, a test) stays so.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, TextIO

RAY_EXTRA_HINT = 'Ray is not installed: pip install "ftds-agent[ray]" (or scripts/setup-ray.sh)'


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # the extra is ray[data]; a bare ray install lacks it
    except ImportError:
        raise ValueError(RAY_EXTRA_HINT) from None
    return ray


def check_reachable(address: str | None) -> None:
    """Refuse a ``HOST:PORT`` where nothing listens, with what to do; other forms are left to Ray."""
    if not address or "://" in address or address == "auto":
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--ray-address {address} is not HOST:PORT (e.g. 127.0.0.1:6379) or ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as exc:
        raise ValueError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head --port PORT` or fix --ray-address"
        ) from None


class RayConnection:
    """``open()`` connects (``address`` None: a Ray instance started by this process) and returns the ``ray``
    module; ``close()`` disconnects if ``open`` connected, and gives stdout back."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._connected = False
        self._stdout: TextIO | None = None

    def open(self) -> Any:
        ray = import_ray()
        if self._stdout is None:
            self._stdout, sys.stdout = sys.stdout, sys.stderr
        if ray.is_initialized():
            return ray
        try:
            check_reachable(self.address)
        except ValueError:
            self.close()
            raise
        try:
            ray.init(
                address=self.address,
                ignore_reinit_error=True,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:  # what ray.init raises for a bad address
            self.close()
            raise ValueError(
                f"could not connect to the Ray cluster at {self.address}: {exc}; start one with "
                "`ray start --head --port PORT` or fix --ray-address"
            ) from None
        self._connected = True
        return ray

    def close(self) -> None:
        if self._connected:
            import_ray().shutdown()
            self._connected = False
        if self._stdout is not None:
            sys.stdout, self._stdout = self._stdout, None
