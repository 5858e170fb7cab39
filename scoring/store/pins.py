"""A SQLite store's generations pinned per thread: each request reads the file it started on to its end.

Other readers share connection.connect's cached connection, which follows the newest file on every call; a pin is
the thread's own read-only connection, checked against the file at the path once, when the pin is taken, and used
without checking until the next pin. A file a swap replaced stays readable through that open connection.
Under gevent a thread-local is a greenlet's own, so each request in a worker has its pin.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from scoring.store.connection import open_readonly


def file_key(path) -> tuple[int, int]:
    """(inode, mtime): a swap renames another file in, so both change; a write in place changes the mtime."""
    st = os.stat(path)
    return st.st_ino, st.st_mtime_ns


class GenerationPins:
    """The pins of one store file, one per thread."""

    def __init__(self, path):
        self.path = path
        self._local = threading.local()  # (pid, inode, connection)

    def connection(self) -> sqlite3.Connection | None:
        """The calling thread's pinned connection; None before its first pin (or in a forked child)."""
        pin = getattr(self._local, "pin", None)
        return pin[2] if pin is not None and pin[0] == os.getpid() else None

    def pin(self) -> tuple[int, int]:
        """Pin the file now at the path for this thread; its key."""
        pin = getattr(self._local, "pin", None)
        if pin is not None and pin[0] != os.getpid():
            pin = None  # a forked child never uses its parent's connection
        for _ in range(5):
            key = file_key(self.path)
            if pin is not None and pin[1] == key[0]:
                return key
            con = open_readonly(self.path)
            con.execute("SELECT 1 FROM meta LIMIT 1").fetchone()  # the file is open now: a swap cannot change it
            if file_key(self.path)[0] == key[0]:  # and it is the one stat'ed: no swap in between
                if pin is not None:
                    pin[2].close()
                self._local.pin = (os.getpid(), key[0], con)
                return key
            con.close()
        raise RuntimeError(f"client store {self.path} kept being replaced while a request started")
