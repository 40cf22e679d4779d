"""A private PostgreSQL cluster for fault tests: started on its own port, frozen, thawed.

Tests that stop or freeze PostgreSQL must never touch the shared server. This one is
Debian's binaries run as the postgres user (the tests run as root), in a temporary
folder, removed at the end:

    with PrivateCluster() as cluster:
        url = cluster.url("postgres")
        cluster.freeze()   # SIGSTOP to every process of the cluster, as a hung host
        cluster.thaw()
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path


def binaries():
    """Return the folder of Debian's PostgreSQL binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def unavailable_reason():
    """Return why a private cluster cannot run here, or None."""
    if binaries() is None:
        return "PostgreSQL's server binaries are not installed"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "a private cluster needs root (to run it as the postgres user)"
    return None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateCluster:
    """initdb, pg_ctl start on a free port; freeze() and thaw() the whole cluster."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="portal-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        shutil.chown(self.folder, "postgres", "postgres")

    def run(self, *command):
        return subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True,
                              capture_output=True, text=True, timeout=60)

    def __enter__(self):
        bin_dir = binaries()
        self.pg_ctl = str(bin_dir / "pg_ctl")
        self.run(str(bin_dir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.run(self.pg_ctl, "-D", str(self.data), "-w", "-l", str(self.folder / "log"), "-o",
                 f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                 "-c fsync=off", "start")
        return self

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def pids(self):
        """Return the postmaster's pid and its children's."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        return [postmaster, *map(int, children)]

    def freeze(self):
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        for pid in self.pids():
            os.kill(pid, signal.SIGCONT)

    def __exit__(self, *exc):
        try:
            self.thaw()
            self.run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
