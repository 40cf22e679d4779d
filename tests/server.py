"""The portal as users run it: gunicorn and the flask CLI in real subprocesses.

Each server gets a socket bound to port 0 by the test process and handed to
gunicorn (--bind fd://N), so there is no race for a free port.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn"]


def portal_env(database_url, **settings):
    """Return an environment for a portal process: PORTAL_* settings, nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({"PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "s" * 48,
                "PORTAL_COOKIE_SECURE": "false", "PORTAL_PASSWORD_MEMORY_COST": "64",
                "PORTAL_PASSWORD_TIME_COST": "1"})
    env.update({f"PORTAL_{k}": str(v) for k, v in settings.items()})
    return env


def flask_cli(env, *args, stdin=None, timeout=60):
    """Run `flask --app portal ARGS` and return the completed process."""
    return subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args],
                          env=env, cwd=ROOT, input=stdin, capture_output=True, text=True,
                          timeout=timeout)


class Gunicorn:
    """`gunicorn "portal:create_app()"` on a free loopback port, for the length of a with."""

    def __init__(self, env, workers=2, threads=1, extra=(), app="portal:create_app()", cwd=ROOT,
                 ready="/healthz"):
        self.env, self.workers, self.threads, self.extra = env, workers, threads, list(extra)
        self.ready = ready
        self.app, self.cwd = app, cwd
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.process = None

    def __enter__(self):
        fd = self.sock.fileno()
        os.set_inheritable(fd, True)
        command = [*GUNICORN, "--bind", f"fd://{fd}", "--workers", str(self.workers),
                   "--threads", str(self.threads), "--graceful-timeout", "2", *self.extra,
                   self.app]
        # A file, not a pipe: a full pipe would block gunicorn's logging.
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(command, env=self.env, cwd=self.cwd, pass_fds=(fd,),
                                        stdout=self.log, stderr=subprocess.STDOUT, text=True)
        self.wait_until_ready(path=self.ready)
        return self

    def wait_until_ready(self, seconds=20, path="/healthz"):
        """Poll a path until it answers; raise with gunicorn's output if it never does."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"gunicorn exited:\n{self.output}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer in {seconds}s:\n{self.output}")

    def stop(self):
        """Stop gunicorn and keep its output in self.output."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.output = self.read_log()
        self.log.close()
        self.sock.close()

    def worker_pids(self):
        """Return the pids of gunicorn's worker processes (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def read_log(self):
        """Return everything gunicorn has written so far."""
        self.log.seek(0)
        return self.log.read()

    def __exit__(self, *exc):
        self.stop()
