"""Gunicorn settings of every served set-up (Procfile, systemd units, `make demo`, tests): `gunicorn -c` this file.

Slow clients: a sync or gthread worker gives each connection a process or thread while it reads the headers, so a
few sockets trickling one header line per second stop /health (measured: 2 such sockets failed every probe of
2 sync workers; 20 failed 8 of 19 probes of 2 gthread workers x 8 threads). The gevent worker reads headers in a
greenlet per connection, and its keep-alive timeout bounds the whole request line + headers read: a trickling
client is cut off after SCORING_HEADER_TIMEOUT seconds and costs no thread meanwhile. Command-line flags
(--bind, --workers, --timeout) override what is set here.
"""

import sys
from pathlib import Path

import gevent
from gevent import monkey
from gevent import socket as gsocket
from gunicorn.workers.ggevent import GeventWorker


class Worker(GeventWorker):
    """gevent worker; for the API, OS threads stay unpatched.

    The API keeps per-thread caches (a DuckDB connection with prepared statements, SQLite connections): with
    threading patched they would be per greenlet, i.e. per connection, and a POST on a new connection took 78 ms
    instead of 17 ms. All greenlets of a worker run in one thread and never yield inside those calls (no network
    I/O), so sharing them is what a one-thread worker does. `time` stays unpatched too: the store's busy-retry sleeps
    between attempts to begin a write transaction, and a patched sleep would hand the shared connection to another
    request in the middle (it would then find a transaction already open). The dashboard keeps full patching: its
    thread pool of API calls then runs as greenlets.
    """

    def patch(self):
        if not str(getattr(self.app, "app_uri", "")).startswith("api:"):
            super().patch()
            return
        _pandas_without_arrow()
        monkey.patch_all(thread=False, time=False)
        # as GeventWorker.patch: the listening sockets re-made as gevent sockets
        self.sockets = [gsocket.socket(s.FAMILY, gsocket.SOCK_STREAM, fileno=s.sock.fileno()) for s in self.sockets]

    def handle_request(self, listener_name, req, sock, addr):
        """Each request waits for its turn first (gevent.idle: until every other connection with something to read
        has been seen). Without it a keep-alive connection whose next request is already in the socket is served
        again and again without yielding, and the others starve. One worker, /health, wrk with 8 connections,
        latencies as the clients recorded them (bench/api.py's run_wrk), two alternated runs of 10 s each: greedy
        p50 0.3 ms, p99 25-45 ms, max 169-180 ms, 3,403-3,441 req/s; in turn p50 2.5 ms, p99 5.0-5.1 ms, max
        8.5-8.9 ms, 3,105-3,134 req/s (9 % less: a pass of the event loop per request). Cannot starve: each
        connection has at most one request being read before it waits here, and worker_connections bounds the
        connections."""
        gevent.idle()
        return super().handle_request(listener_name, req, sock, addr)


def _pandas_without_arrow() -> None:
    """An API worker's pandas, imported before the app, without pyarrow: ~30 MB less per worker. Nothing the API
    serves reads or writes Arrow or Parquet, and pandas then never will in this process (its Parquet support
    breaks once it has started without pyarrow): so only served API workers, never a command or a test process."""
    from scoring.imports import refused

    if "pandas" in sys.modules:
        return
    with refused("pyarrow"):
        import pandas  # noqa: F401


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # gunicorn may load this before it puts its cwd there
from scoring.config import settings  # noqa: E402  (one declaration of every setting; no heavy imports)

_s = settings()
worker_class = Worker
# connections one worker holds at once (idle keep-alive and slow ones included) before it stops accepting
worker_connections = _s.worker_connections
# gevent worker: seconds a client has to send its request line and headers, and idle keep-alive time
keepalive = _s.header_timeout
# a request busy longer than this (CPU-bound; a gevent worker cannot answer its heartbeat meanwhile) is killed
timeout = _s.worker_timeout
graceful_timeout = 20
# requests are small JSON calls: no reason to accept long lines or many headers (gunicorn answers 400)
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190


def post_worker_init(worker):
    """Once the app is loaded, its objects (the model bundles, labels, libraries: about 180,000) leave the cyclic
    garbage collector's reach (gc.freeze): a full collection then walks only what requests make. Unfrozen, one
    took 135 ms of the worker's single thread, and objects kept a little longer (the shadow queue's) made them
    frequent enough to show in the p99."""
    import gc

    gc.freeze()
