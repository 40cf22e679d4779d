"""What reaches PostgreSQL, seen at the socket: a counting proxy for tests.

Tests point the app's database URL at a WireProxy (`proxy.url(database_url)`) instead of
monkeypatching the driver, so whatever the app, Peewee and libpq do is measured as the
server sees it:

    with WireProxy() as proxy:
        app = create_app({..., "DATABASE_URL": proxy.url(database_url)})
        proxy.reset()
        client.get("/")
        assert proxy.round_trips == 1

A round trip is a turn of the conversation: on one client connection, a burst of client
bytes that follows server bytes counts one, however many TCP segments or protocol
messages it spans. The startup phase (SSL/GSS negotiation, StartupMessage,
authentication, up to the server's first ReadyForQuery) does not count, nor does a
lone Terminate message, which the client sends without waiting for an answer.
"""

import socket
import threading
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

# Startup-phase requests the server answers with one bare byte ('N', 'S' or 'G'), not a
# framed message: int32 length 8, then the request code.
SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
GSSENC_REQUEST = (8).to_bytes(4, "big") + (80877104).to_bytes(4, "big")
TERMINATE = b"X" + (4).to_bytes(4, "big")
HEADER = 5  # a backend message: one type byte, then an int32 length that counts itself
KEPT = (b"N", b"Z")  # NoticeResponse and ReadyForQuery: the only messages read whole
CHUNK = 65536


def notice_text(body):
    """Return the 'M' (message) field of a NoticeResponse body, or '' if it has none."""
    # Fields are a type byte and a NUL-terminated string each; a lone NUL ends them.
    for field in body.split(b"\0"):
        if field[:1] == b"M":
            return field[1:].decode("utf-8", "replace")
    return ""


class _ServerStream:
    """Frames the server's bytes into messages, keeping only the few the proxy reads."""

    def __init__(self):
        self.pending = bytearray()  # an incomplete header, or the body of a kept message
        self.skip = 0  # bytes of an unread message still to pass by
        self.owed_replies = 0  # bare-byte answers owed to SSLRequest / GSSENCRequest
        self.opaque = False  # encryption was accepted (or framing lost): stop reading

    def feed(self, data):
        """Return (type, body) for each kept message that data completes."""
        messages = []
        view = memoryview(data)
        while view and not self.opaque:
            if self.skip:
                taken = min(self.skip, len(view))
                self.skip -= taken
                view = view[taken:]
            elif self.owed_replies and not self.pending:
                # 'N' means "go on in plain text"; 'S' or 'G' means TLS or GSS follows,
                # which the proxy cannot read, so it forwards the rest blind.
                self.owed_replies -= 1
                self.opaque = view[0] != ord("N")
                view = view[1:]
            else:
                view = self._take(view, messages)
        return messages

    def _take(self, view, messages):
        """Consume part of one message from view; return what is left of view."""
        if len(self.pending) < HEADER:
            taken = HEADER - len(self.pending)
            self.pending += view[:taken]
            view = view[taken:]
            if len(self.pending) < HEADER:
                return view
            length = int.from_bytes(self.pending[1:HEADER], "big")
            if length < 4:
                self.opaque = True  # not PostgreSQL's framing: count nothing rather than guess
                return view
            if bytes(self.pending[:1]) not in KEPT:
                # Rows and the like are passed by, not buffered, however large they are.
                self.skip = length - 4
                self.pending.clear()
                return view
        total = 1 + int.from_bytes(self.pending[1:HEADER], "big")
        taken = total - len(self.pending)
        self.pending += view[:taken]
        if len(self.pending) == total:
            messages.append((bytes(self.pending[:1]), bytes(self.pending[HEADER:])))
            self.pending.clear()
        return view[taken:]


class _Link:
    """One client connection and its upstream socket, pumped by a thread each way."""

    def __init__(self, proxy, client, server):
        self.proxy, self.client, self.server = proxy, client, server
        self.stream = _ServerStream()
        self.started = False  # the server's first ReadyForQuery has gone by
        self.server_spoke = False  # the server sent bytes since the client's last send
        self.pumps_running = 2
        self.closed = False
        self.threads = [
            threading.Thread(target=self._pump, args=(client, server, self._from_client),
                             name="pgwire client->server", daemon=True),
            threading.Thread(target=self._pump, args=(server, client, self._from_server),
                             name="pgwire server->client", daemon=True),
        ]

    def start(self):
        """Start both pump threads."""
        for thread in self.threads:
            thread.start()

    def _pump(self, source, sink, observe):
        """Copy source to sink, showing each chunk to observe first, until either side ends."""
        try:
            while data := source.recv(CHUNK):
                # Observe before forwarding: the answer to these bytes cannot arrive (nor
                # the client see a reply) before the bookkeeping for them is done.
                with self.proxy._lock:
                    observe(data)
                sink.sendall(data)
        except OSError:
            pass  # a peer, or the proxy stopping, ended the connection
        finally:
            with self.proxy._lock:
                self.hang_up()
                self.pumps_running -= 1
                if not self.pumps_running:
                    self._close()

    def _from_client(self, data):
        """Count a round trip if these client bytes follow server bytes (lock held)."""
        if not self.started:
            if data[:8] in (SSL_REQUEST, GSSENC_REQUEST):
                self.stream.owed_replies += 1
        elif self.server_spoke and data != TERMINATE:
            self.proxy.round_trips += 1
            self.server_spoke = False

    def _from_server(self, data):
        """Note ReadyForQuery and notices in these server bytes (lock held)."""
        for kind, body in self.stream.feed(data):
            if kind == b"Z":
                self.started = True
            elif self.started:
                self.proxy.notices.append(notice_text(body))
        # The chunk holding the first ReadyForQuery counts as server speech, so the
        # client's first send after startup is a round trip.
        if self.started:
            self.server_spoke = True

    def hang_up(self):
        """Shut both sockets down, waking both pumps (lock held)."""
        # Under the lock and only while open: a closed socket's number may be reused.
        if self.closed:
            return
        for sock in (self.client, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already disconnected

    def _close(self):
        """Close both sockets once neither pump uses them (lock held)."""
        self.closed = True
        self.client.close()
        self.server.close()
        self.proxy._links.discard(self)


class WireProxy:
    """A TCP proxy to PostgreSQL that counts round trips and keeps the server's notices."""

    def __init__(self, upstream_host="127.0.0.1", upstream_port=5432):
        self._upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self.round_trips = 0
        self.notices = []
        self._links = set()
        self._stopping = False
        # Bound now, to port 0: the port is known before start and no other process can
        # take it in between.
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept, name="pgwire accept",
                                         daemon=True)

    def url(self, database_url):
        """Return database_url with its host:port replaced by this proxy's."""
        parts = urlsplit(database_url)
        userinfo, at, _ = parts.netloc.rpartition("@")
        # The query may name hosts too (libpq lets it override the netloc); drop them.
        # TLS and GSS encryption would hide the protocol from the proxy: turn them off.
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k not in ("host", "hostaddr", "port", "sslmode", "gssencmode")]
        query += [("sslmode", "disable"), ("gssencmode", "disable")]
        netloc = f"{userinfo}{at}127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query)))

    def reset(self):
        """Zero round_trips and forget the notices."""
        with self._lock:
            self.round_trips = 0
            self.notices.clear()

    def __enter__(self):
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info):
        with self._lock:
            self._stopping = True
        # Wake the accept() with a connection of our own; it sees `stopping` and ends.
        socket.create_connection(("127.0.0.1", self.port)).close()
        self._acceptor.join()
        self._listener.close()
        with self._lock:
            links = list(self._links)
            for link in links:
                link.hang_up()
        for link in links:
            for thread in link.threads:
                thread.join()

    def _accept(self):
        """Accept clients, dialling the server for each, until the proxy stops."""
        while True:
            client, _ = self._listener.accept()
            if self._stopping:
                client.close()
                return
            self._open_link(client)

    def _open_link(self, client):
        """Connect client to a new upstream connection, or close it if that fails."""
        try:
            server = socket.create_connection(self._upstream, timeout=5)
        except OSError:
            client.close()  # the client sees the server refuse, as it would directly
            return
        server.settimeout(None)
        for sock in (client, server):
            # Forward each write at once: Nagle's delay would slow every round trip.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._stopping:
                client.close()
                server.close()
                return
            link = _Link(self, client, server)
            self._links.add(link)
            link.start()
