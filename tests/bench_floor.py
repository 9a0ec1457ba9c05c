"""The floor for `make bench`: a bare Flask app with one route, served exactly as the booking
app is. What it manages per second is what gunicorn, Flask and this machine allow at all, so
the booking app's numbers are read as a share of it."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "ok"
