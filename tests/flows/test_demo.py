"""`goumai demo` against `goumai up` (the embedded default: SQLite and the embedded log) started as a process
on free ports: the whole walk runs clean twice on the same system, and a system that is not there gives a clear
message and a non-zero exit."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from goumai.demo import main as demo_main

ROOT = Path(__file__).resolve().parents[2]


def _free_base_port() -> int:
    """A base port with the next five free too (gateway + five services)."""
    for base in range(18200 + os.getpid() % 500, 19900, 7):
        try:
            socks = []
            for port in range(base, base + 6):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return base
    raise RuntimeError("no six free ports in 18200-19900")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    var = tmp_path_factory.mktemp("demo-var")
    port = _free_base_port()
    log = (var / "up.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "goumai.cli", "up", "--var", str(var), "--port", str(port)],
                            cwd=var, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"goumai up exited {proc.returncode}: {(var / 'up.log').read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"goumai up not ready in 60 s: {(var / 'up.log').read_text()[-2000:]}")
            time.sleep(0.2)  # polling the process until it answers, with a deadline
        yield url, var
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


EXPECTED_EVENTS = [
    "catalogue.item.added", "catalogue.published", "budget.line.approved", "registry.supplier.registered",
    "registry.supplier.qualified", "contract.awarded", "budget.funds.reserved", "contract.signed",
    "assessment.finalized", "assessment.published", "contract.settlement.approved", "budget.payment.recorded",
    "contract.payment.made", "contract.withheld.released", "registry.supplier.blacklisted", "contract.flagged",
    "registry.supplier.eligibility.changed", "contract.filed",
]


def test_demo_runs_clean_twice_on_the_embedded_default(system: tuple[str, Path],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    url, var = system
    runs = []
    for _ in range(2):
        started = time.monotonic()
        rc = demo_main(["--url", url, "--keys", str(var / "keys"), "--timeout", "20"])
        out, err = capsys.readouterr()
        assert rc == 0, f"{out[-3000:]}\n{err}"
        runs.append(out)
        assert time.monotonic() - started < 45
    first, second = runs
    assert first.splitlines()[0].split()[3] != second.splitlines()[0].split()[3]  # fresh run ids
    for out in runs:
        assert "events from embedded log" in out and "✓ demo run" in out
        # the 合格 month: 75,000.00 × 90%, the rest withheld; the budget line paid to the fen
        assert "75,000.00 元 × 90% = 67,500.00 元; withheld 7,500.00 元" in out
        assert "budget line: paid 142,500.00 元 of 960,000.00 元" in out
        # the purchaser verified the remediation of the 合格 month: its 7,500.00 withheld is paid
        assert "withheld 7,500.00 元, released 7,500.00 元 after the remediation" in out
        assert "budget line: paid 150,000.00 元" in out
        assert "422 contract.supplier.blacklisted" in out
        assert "422 contract.line.finance_approval_missing" in out
        assert "422 contract.method.single_source_not_qualified" in out
        assert "awarded by single source, within policy: True" in out
        assert "eligible: False" in out
        for event_type in EXPECTED_EVENTS:
            assert f"⇢ {event_type} " in out, event_type
        assert "dead letter" not in out


def test_demo_says_what_is_wrong_when_there_is_no_system(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_main(["--keys", str(tmp_path)]) == 2
    assert "no signing key" in capsys.readouterr().err
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "k.key.pem").write_text("not used")
    port = _free_base_port()
    rc = demo_main(["--url", f"http://127.0.0.1:{port}", "--keys", str(keys), "--bus", "none", "--timeout", "1"])
    assert rc == 2
    assert "is `goumai up` running?" in capsys.readouterr().err
