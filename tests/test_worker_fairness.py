"""The served worker (deploy/gunicorn.conf.py) takes its keep-alive connections in turn: a connection whose next
request is already waiting is not served again before another connection's waiting request (real gunicorn)."""

from __future__ import annotations

import itertools
import socket
import time

from tests.servers import gunicorn

_served = itertools.count()


def busy(environ, start_response):
    """200 ms of CPU (no yield to other greenlets), then the order in which this worker served the request."""
    start = time.perf_counter()
    while time.perf_counter() - start < 0.2:
        pass
    body = f"{environ['PATH_INFO']} {next(_served)}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode()


def _bodies(sock: socket.socket, n: int) -> list[str]:
    """The bodies of the next `n` responses on a keep-alive connection."""
    data, bodies = b"", []
    while len(bodies) < n:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = int(next(x for x in head.split(b"\r\n") if x.lower().startswith(b"content-length")).split(b":")[1])
            if len(rest) >= length:
                bodies.append(rest[:length].decode())
                data = rest[length:]
                continue
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    return bodies


def test_a_waiting_connection_is_served_before_a_pipelining_one_again():
    """A sends three requests at once, B one while A's first is being served. Greedy, the worker would serve A's
    three (already in its buffer) before looking at B again; in turn, B's comes before A's third."""
    with gunicorn("tests.test_worker_fairness:busy", {}, workers=1, ready_path="/ready") as base:
        port = int(base.rsplit(":", 1)[1])
        a = socket.create_connection(("127.0.0.1", port), timeout=30)
        b = socket.create_connection(("127.0.0.1", port), timeout=30)
        time.sleep(0.3)  # both accepted, their greenlets waiting to read
        a.sendall(_request("/a1") + _request("/a2") + _request("/a3"))
        time.sleep(0.05)  # A's first is being served (200 ms: B's arrives before A's second even on a busy machine)
        b.sendall(_request("/b1"))
        order = {p: int(n) for p, n in (x.split() for x in _bodies(a, 3) + _bodies(b, 1))}
        a.close()
        b.close()
    assert order["/a1"] < order["/a2"] < order["/a3"]
    assert order["/b1"] < order["/a3"], order
