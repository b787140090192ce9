"""``--scheduler ADDRESS`` that is not a Dask scheduler with workers (SPEC §2.6, §8): one ``Error:`` line.

Each case is a user's likely mix-up, played on loopback with real servers: the dashboard's port
(8787) for the scheduler's (8786), any other server that accepts the connection and never speaks
Dask's protocol, a worker's address, a transport metasup cannot use, and a scheduler no worker
has joined. ``distributed.comm.timeouts.connect`` is made small, so each ends in seconds; every
test has a timeout of its own, since the faults these tests guard against were hangs.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from distributed import LocalCluster

from metasup.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "metasup" / "examples" / "metasup.yml"

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.timeout(30)]

CONNECT_TIMEOUT = 1.0


@pytest.fixture(autouse=True)
def short_connect_timeout() -> Iterator[None]:
    with dask.config.set({"distributed.comm.timeouts.connect": f"{CONNECT_TIMEOUT:g}s"}):
        yield


def evaluate_on(address: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str], float]:
    """``metasup evaluate --scheduler ADDRESS`` on the bundled example: exit code, stderr's lines
    (besides the log lines a scheduler in this process writes), seconds it took."""
    capsys.readouterr()
    start = time.monotonic()
    code = main(["evaluate", "--config", str(EXAMPLES), "--scheduler", address, "--fail-on", "never"])
    took = time.monotonic() - start
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Error")]
    return code, lines, took


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never writes a byte (``socket.listen`` and ``accept``)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:  # closed below
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept (close alone does not)
    listener.close()
    for conn in accepted:
        conn.close()
    thread.join(5)


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<html>a dashboard</html>")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    """A tiny HTTP server, as the dashboard or anything else serving a web page on the port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def no_probe_left() -> bool:
    return not any(thread.name.startswith("metasup-probe") for thread in threading.enumerate())


@pytest.mark.parametrize("server", ["silent_port", "http_port"])
def test_a_port_that_does_not_speak_dask_is_one_error_after_the_connect_timeout(
    server: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    """It used to hang for ever (a PR check sat until the job's 6-hour timeout): distributed's
    ``Client`` waits without limit for the handshake of a port that accepted the connection."""
    address = f"tcp://127.0.0.1:{request.getfixturevalue(server)}"
    code, lines, took = evaluate_on(address, capsys)
    assert code == 2
    assert lines == [
        f"Error: dask scheduler {address}: nothing answered as a Dask scheduler within 1 s"
        " (is this the dashboard's port? a scheduler listens on 8786 by default)"
    ]
    assert took < CONNECT_TIMEOUT + 10  # a few seconds, not for ever
    assert no_probe_left()


def test_the_scheduler_is_checked_before_the_artifacts_are_read(
    silent_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong ``--scheduler`` is said before the load (minutes at scale), not after it: with the
    alpha artifact missing too, the error is the scheduler's."""
    config = tmp_path / "metasup.yml"
    text = EXAMPLES.read_text()
    config.write_text(text.replace("alpha: alpha/events.jsonl", "alpha: missing/events.jsonl"))
    assert config.read_text() != text
    (tmp_path / "agents.yaml").write_text((EXAMPLES.parent / "agents.yaml").read_text())
    capsys.readouterr()
    code = main(["evaluate", "--config", str(config), "--scheduler", f"tcp://127.0.0.1:{silent_port}"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Error")]
    assert code == 2
    assert lines[0].startswith(f"Error: dask scheduler tcp://127.0.0.1:{silent_port}: nothing answered")


def test_the_dashboard_port_of_a_real_scheduler_is_one_error(capsys: pytest.CaptureFixture[str]) -> None:
    """The common mix-up: the dashboard's address (``:8787``) given for the scheduler's (``:8786``)."""
    with LocalCluster(
        n_workers=0, processes=False, protocol="tcp", dashboard_address="127.0.0.1:0"
    ) as cluster:
        dashboard = cluster.scheduler.services["dashboard"].port
        code, lines, took = evaluate_on(f"tcp://127.0.0.1:{dashboard}", capsys)
    assert code == 2
    assert len(lines) == 1
    assert "nothing answered as a Dask scheduler within 1 s (is this the dashboard's port?" in lines[0]
    assert took < CONNECT_TIMEOUT + 10  # a few seconds, not for ever


def test_a_workers_address_is_not_taken_for_the_schedulers(capsys: pytest.CaptureFixture[str]) -> None:
    with LocalCluster(n_workers=1, processes=False, protocol="tcp", dashboard_address=":0") as cluster:
        worker = next(iter(cluster.scheduler.workers))
        code, lines, _ = evaluate_on(worker, capsys)
    assert code == 2
    assert lines == [
        f"Error: dask scheduler {worker}: a Dask Worker answered, not a scheduler; give the address"
        " the workers were started with (dask worker tcp://scheduler:8786)"
    ]


def test_a_port_nothing_listens_on_still_cannot_connect(capsys: pytest.CaptureFixture[str]) -> None:
    """Refused: distributed retries for the connect timeout, then says so (the path that always worked)."""
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    code, lines, took = evaluate_on(f"tcp://127.0.0.1:{port}", capsys)
    assert code == 2
    assert lines == [
        f"Error: dask scheduler tcp://127.0.0.1:{port}: cannot connect (Timed out trying to connect to"
        f" tcp://127.0.0.1:{port} after 1 s)"
    ]
    assert took < CONNECT_TIMEOUT + 10  # a few seconds, not for ever


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("inproc://x", "no scheduler runs inside this process at that inproc:// address"),
        ("ucx://127.0.0.1:8799", "metasup reaches a scheduler over tcp:// only, not ucx://"),
        (
            "tls://127.0.0.1:8799",
            "TLS (tls://) is not supported yet: metasup has no setting for the cluster's certificates",
        ),
        ("http://127.0.0.1:8787/status", "http:// is the dashboard's address, not the scheduler's"),
    ],
)
def test_a_transport_other_than_tcp_is_a_usage_error(
    address: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """inproc, ucx and tls ended as "Internal error (a bug in metasup …)", exit 1 (distributed's
    ValueError or TypeError); http was refused already, now with what it likely is."""
    code, lines, took = evaluate_on(address, capsys)
    assert code == 2
    assert lines == [f"Error: dask scheduler {address}: not a scheduler address ({why}); use tcp://host:8786"]
    assert took < 5  # refused as written, nothing is waited for


def test_a_scheduler_without_workers_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    """It said "failed during the run (TimeoutError: No valid workers found): its scheduler went away
    or a worker died": neither happened. A cluster's state, not the user's input: exit 1."""
    with LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=":0") as cluster:
        address = cluster.scheduler_address
        code, lines, took = evaluate_on(address, capsys)
    assert code == 1
    assert lines == [
        f"Error: dask engine: the scheduler at {address} has no workers (start some: dask worker"
        f" {address}); none joined within 1 s"
    ]
    assert took < CONNECT_TIMEOUT + 10


def test_a_worker_that_joins_while_the_run_waits_is_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An adaptive cluster starts workers when work arrives: a scheduler with none yet is not refused
    on sight, the run waits the connect timeout for one."""
    review = tmp_path / "review.json"
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "20s"}),
        LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=":0") as cluster,
    ):
        timer = threading.Timer(1.0, cluster.scale, args=(1,))
        timer.start()
        try:
            command = ["evaluate", "--config", str(EXAMPLES), "--json", str(review), "--fail-on", "never"]
            code = main([*command, "--scheduler", cluster.scheduler_address])
        finally:
            timer.join()
        ran = cluster.scheduler.task_prefixes["reduce_partition"].state_counts["memory"]
    assert code == 0, capsys.readouterr().err
    assert ran >= 1
    assert review.stat().st_size > 0
