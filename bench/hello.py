"""The baseline: a bare Flask hello-world, served by the same gunicorn settings as the portal."""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
@app.get("/")
def hello():
    """Say hello."""
    return "Hello, World!"
