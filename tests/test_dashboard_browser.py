"""optuna-dashboard in a real browser: headless Chromium shows the study in the dashboard's study list, and on the
study's page its objective's name and its kept model (an artifact); the note is checked in tests/test_cli.py.

Chromium comes from Debian's package (``make setup`` installs it where apt is available); on machines
without it the test is skipped with the reason printed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.test_cli import free_port

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=15000"]


def test_dashboard_lists_the_study_in_chromium(tiny_study, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (make setup installs Debian's chromium where apt is available)")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness", "dashboard", "--storage", tiny_study["storage"],
                               "--port", str(port)], cwd=tiny_study["folder"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/dashboard"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5).read()
                break
            except OSError:
                time.sleep(0.5)
        dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-dom'}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120)
        study_page = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-study'}",
                                     "--dump-dom", f"{url}/studies/{_study_id(port)}"],
                                    capture_output=True, text=True, timeout=120)
        screenshot = tmp_path / "dashboard.png"
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-shot'}", "--window-size=1280,800",
                        f"--screenshot={screenshot}", url], capture_output=True, text=True, timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "tiny" in dom.stdout and "Direction: MAXIMIZE" in dom.stdout, dom.stdout[-2000:]
    assert screenshot.read_bytes()[:4] == b"\x89PNG"
    page = study_page.stdout
    assert "chrf" in page, page[-2000:]  # the objective's name, not "Objective 0"
    assert "tiny.best.pt" in page, page[-2000:]  # the kept model, an artifact of the study


def _study_id(port: int) -> int:
    import json

    answer = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5).read())
    studies = answer.get("study_summaries") or answer.get("studies")
    return next(s["study_id"] for s in studies if s["study_name"] == "tiny")
