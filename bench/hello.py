"""The smallest Flask app: the ceiling that ``python -m bench.transfers --ceiling`` measures the API against."""
from flask import Flask

app = Flask(__name__)


@app.get("/api/v1/health")
def health():
    return {"status": "ok"}
