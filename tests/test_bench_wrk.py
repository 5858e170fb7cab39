"""bench/api.py reads the latencies wrk's clients waited, timed in its Lua script, beside wrk's own percentiles
(which wrk corrects for coordinated omission before its script sees them): checked against the real wrk binary."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.api import percentile_us, run_wrk


def test_percentiles_are_wrks():
    """wrk's rank: round(p % of the count + 0.5), the first value whose running count reaches it."""
    histogram = {100: 50, 200: 40, 5000: 9, 90000: 1}
    assert [percentile_us(histogram, p) for p in (49, 50, 90, 99)] == [100, 200, 5000, 90000]


class _Slow(BaseHTTPRequestHandler):
    """Answers at once, but every 50th request after a pause: a tail for wrk to correct."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK wait between them
    served = 0
    lock = threading.Lock()

    def do_GET(self):  # noqa: N802 - http.server's name
        with _Slow.lock:
            _Slow.served += 1
            slow = _Slow.served % 50 == 0
        if slow:
            threading.Event().wait(0.02)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) not installed")
def test_real_wrk_times_each_request_once(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.handle_error = lambda request, address: None  # wrk resets its connections when its time is up
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        r = run_wrk(tmp_path, server.server_address[1], [("GET", "/", None)], {}, 4, 1)
    finally:
        server.shutdown()
    recorded = r["recorded"]
    assert r["status"] == 0 and r["requests"] > 100
    assert sum(recorded.values()) == r["requests"]  # every request timed once
    assert abs(max(recorded) - r["max_us"]) < 1000  # the slowest one as wrk timed it (corrections add none above)
    assert max(recorded) >= 20_000  # the 20 ms pauses are there
    slow = sum(n for us, n in recorded.items() if us >= 20_000)
    assert r["requests"] / 50 - 8 <= slow <= r["requests"] / 50 + 8  # one in 50, as served (4 in flight at the end)
    assert percentile_us(recorded, 50) < 20_000 <= percentile_us(recorded, 99)  # 2 % slow: p99 among them
