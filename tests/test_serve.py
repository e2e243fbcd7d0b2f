"""`make run` (scripts/serve): QR labels and wall links follow where the server listens."""

import os
import stat
import subprocess
from pathlib import Path

import pytest

SERVE = Path(__file__).resolve().parent.parent / "scripts" / "serve"


@pytest.fixture
def fake_python(tmp_path):
    # Stands in for the interpreter: notes what each process would be started with.
    script = tmp_path / "python"
    log = tmp_path / "started.txt"
    script.write_text(f'#!/bin/sh\necho "$SITE_URL|$ALLOWED_HOSTS|$*" >> {log}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def serve(fake_python, host, port, **env):
    script, log = fake_python
    environment = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "ALLOWED_HOSTS")}
    result = subprocess.run([str(SERVE), str(script), host, str(port)], env={**environment, **env},
                            capture_output=True, text=True, timeout=30)
    runserver = [line for line in log.read_text().splitlines() if "runserver" in line]
    return result.stdout, runserver[0].split("|")


def test_another_port_is_the_port_on_the_labels(fake_python):
    out, (site_url, _, args) = serve(fake_python, "127.0.0.1", 9000)
    assert site_url == "http://127.0.0.1:9000" and args.endswith("runserver 127.0.0.1:9000")
    assert "For the tablets on the network: make run HOST=0.0.0.0" in out


def test_listening_on_the_network_puts_this_machines_address_on_the_labels(fake_python):
    lan = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    if not lan:
        pytest.skip("this machine has no network address")
    out, (site_url, hosts, _) = serve(fake_python, "0.0.0.0", 8000)
    assert site_url == f"http://{lan[0]}:8000"
    assert lan[0] in hosts.split(",")  # and the server answers to it
    assert f"Labels and wall links will point at http://{lan[0]}:8000" in out


def test_a_site_url_that_is_set_is_kept(fake_python):
    _, (site_url, hosts, _) = serve(fake_python, "0.0.0.0", 8000, SITE_URL="http://logbook.factory.lan",
                                    ALLOWED_HOSTS="logbook.factory.lan")
    assert (site_url, hosts) == ("http://logbook.factory.lan", "logbook.factory.lan")
