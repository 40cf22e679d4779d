"""Debian's nginx running the shipped deploy/nginx.conf, and clients that send slowly.

nginx runs as the test's own process (-p a temporary folder, daemon off), never the
system service. The shipped file is used as it is, but for the value of each line
marked "site:" (the upstream, the listen address, the certificate, its key, the access
log), which only say where things are.
"""

import datetime
import ipaddress
import re
import select
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.pgcluster import free_port
from tests.server import ROOT

NGINX = Path("/usr/sbin/nginx")
SHIPPED = ROOT / "deploy" / "nginx.conf"
SITE_LINE = re.compile(r"^([ \t]*)(\S+)[ \t]+([^\s;]+)((?:[ \t][^#\n]*)?;)[ \t]*# site:.*$",
                       re.MULTILINE)


def site_config(values):
    """Return the shipped config with the first value of each site: line replaced."""
    text = SHIPPED.read_text()
    found = [match[2] for match in SITE_LINE.finditer(text)]
    assert sorted(found) == sorted(values), f"site: lines are {found}"
    return SITE_LINE.sub(lambda m: f"{m[1]}{m[2]} {values[m[2]]}{m[4]}", text)


def self_signed(folder):
    """Write a certificate for 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Nginx:
    """The shipped site in front of an upstream "host:port", over TLS, for a with."""

    def __init__(self, upstream, folder):
        self.folder, self.port = folder, free_port()
        self.cert, key = self_signed(folder)
        self.url = f"https://127.0.0.1:{self.port}"
        self.access_log = folder / "access.log"
        (folder / "portal.conf").write_text(site_config({
            "server": upstream, "listen": f"127.0.0.1:{self.port}", "ssl_certificate": self.cert,
            "ssl_certificate_key": key, "access_log": self.access_log}))
        # Debian's build has absolute default paths under /var: keep everything here.
        temp = "\n".join(f"    {kind}_temp_path {folder}/{kind};"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (folder / "main.conf").write_text(
            f"pid {folder}/nginx.pid;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n{temp}\n    include {folder}/portal.conf;\n}}\n")

    def __enter__(self):
        self.process = subprocess.Popen(
            [NGINX, "-p", self.folder, "-e", self.folder / "error.log",
             "-c", self.folder / "main.conf", "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                requests.get(f"{self.url}/healthz", verify=self.cert, timeout=1)
                return self
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError((self.folder / "error.log").read_text()) from None
                time.sleep(0.05)

    def get(self, path, **kwargs):
        """GET a path through nginx, trusting its test certificate."""
        return requests.get(self.url + path, verify=self.cert, timeout=10, **kwargs)

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)


class SlowClients:
    """Connections that send a request's header a byte every half second, never ending it."""

    HEADER = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "

    def __init__(self, port, count, tls=False):
        self.port, self.count, self.tls = port, count, tls
        self.sockets, self.sent = [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drip, daemon=True)

    def __enter__(self):
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        # TLS 1.3 servers send session tickets after the handshake, which would make
        # every socket readable and still_open() useless.
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            self.sockets.append(context.wrap_socket(sock) if self.tls else sock)
        self._send_next()
        self._thread.start()
        return self

    def _send_next(self):
        byte = self.HEADER[self.sent:self.sent + 1] or b"x"
        for sock in self.sockets:
            sock.sendall(byte)
        self.sent += 1

    def _drip(self):
        while not self._stop.wait(0.5):
            try:
                self._send_next()
            except OSError:
                return  # the server gave up on one: still_open() tells

    def still_open(self):
        """Return how many connections the server has neither answered nor closed."""
        readable, _, _ = select.select(self.sockets, [], [], 0)
        return len(self.sockets) - len(readable)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        for sock in self.sockets:
            sock.close()
