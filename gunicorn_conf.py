"""gunicorn settings for ``make run`` (``gunicorn --config gunicorn_conf.py``); docs/operations.md explains them.

Not named gunicorn.conf.py, which gunicorn reads from the working directory unasked: the benchmarks start
their own gunicorn with the settings they name.

Threaded workers (gthread): the worker's main loop accepts connections and
waits on idle ones itself, so a client that connects and sends nothing holds
no thread for more than a few seconds, and the worker's heartbeat never
depends on a request finishing (a sync worker stuck on a slow client is
killed after ``timeout`` with whatever it was doing). A client that trickles
its request a byte at a time still holds one thread while it does, so each
worker keeps many threads; in production a buffering reverse proxy in front
takes slow clients off the workers altogether.
"""
worker_class = "gthread"
#: per worker; `make run` passes THREADS (default 16). Each slow client holds at most one.
threads = 16
#: a worker whose main loop stops answering this long is restarted (requests in threads do not count).
timeout = 30
graceful_timeout = 30
accesslog = "-"


def post_worker_init(worker) -> None:
    """Once the app is loaded in a worker, move what it allocated (modules, models, schemas, compiled
    statements) out of the garbage collector's view: a full collection then walks only what requests leave
    behind, which keeps its pauses out of the slowest requests (bench/exchange.py: an award's p99 on
    PostGIS went from 65 to 33 ms)."""
    import gc

    gc.collect()
    gc.freeze()
