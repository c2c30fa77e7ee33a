"""A relay that breaks SMTP as some real ones do, on loopback: a raw socket server (aiosmtpd
keeps to the protocol, so it cannot show these). What it does is one `mode`:

- "trickle": the greeting a byte every 0.2 s, for ever ("220-" lines);
- "data-250": DATA answered "250 ok", not 354 (the message never goes);
- "garbage": each message, once its data is in, taken and answered with a line that is no
  SMTP answer.

Every message whose data arrived in full is counted in `taken` (by recipient) before any
answer, as a real relay has it then."""

from __future__ import annotations

import collections
import socket
import threading
import time


class OddRelay:
    def __init__(self, mode: str):
        self.mode = mode
        self.taken: collections.Counter[str] = collections.Counter()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def __enter__(self) -> OddRelay:
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            try:
                self._talk(conn, lines)
            except OSError:
                pass

    def _talk(self, conn: socket.socket, lines) -> None:
        if self.mode == "trickle":
            while not self.stopped.is_set():
                for byte in b"220-hello\r\n":
                    conn.sendall(bytes([byte]))
                    time.sleep(0.2)
            return
        conn.sendall(b"220 odd relay\r\n")
        recipient = ""
        for line in lines:
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-odd\r\n250 8BITMIME\r\n")
            elif verb == b"RCPT":
                recipient = line.split(b"<", 1)[1].split(b">", 1)[0].decode()
                conn.sendall(b"250 ok\r\n")
            elif verb == b"DATA" and self.mode == "data-250":
                conn.sendall(b"250 2.0.0 ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                for data in lines:
                    if data == b".\r\n":
                        break
                self.taken[recipient] += 1
                conn.sendall(b"garbage here\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:  # MAIL, RSET, NOOP
                conn.sendall(b"250 ok\r\n")
