"""`bin/start` never lies: a port already taken is refused in one line before anything starts
or any login is printed; "running" is said only once the web server, the worker and beat all
answer; one that does not come up is named, with the end of its log, and the others are stopped.

Each test runs the real script from a copy of the project made of links (tmp_path/vetrina), whose
`bin/setup` is a stand-in: the real one installs packages and compiles the catalogue. The copy
has its own var/ (databases, broker folders, logs) and an environment with nothing of the test
settings', so the processes it starts share nothing with this test run nor with a running
`bin/start`."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

REPO = Path(__file__).resolve().parents[2]
NOT_LINKED = {"bin", "var", ".git", ".env", ".pytest_cache", ".hypothesis", ".ruff_cache"}
# Stand-ins for bin/setup: one that must never run, one that only migrates the copy's var/.
SETUP_MUST_NOT_RUN = '#!/usr/bin/env bash\necho "setup ran"\ntouch "$(dirname "$0")/../setup-ran"\n'
SETUP_MIGRATE = (
    '#!/usr/bin/env bash\nset -e\ncd "$(dirname "$0")/.."\n'
    ".venv/bin/python manage.py migrate --noinput --verbosity 0\n"
)


def project_copy(tmp_path: Path, setup: str) -> Path:
    root = tmp_path / "vetrina"
    (root / "bin").mkdir(parents=True)
    (root / "var").mkdir()
    for entry in REPO.iterdir():
        if entry.name not in NOT_LINKED:
            (root / entry.name).symlink_to(entry)
    shutil.copy2(REPO / "bin" / "start", root / "bin" / "start")
    (root / "bin" / "setup").write_text(setup)
    (root / "bin" / "setup").chmod(0o755)
    return root


def clean_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no test settings, no .env, the copy's var/."""
    (root / "empty.env").write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(root)),
        "LANG": "C.UTF-8",
        "VETRINA_ENV_FILE": str(root / "empty.env"),
        "VETRINA_VAR_DIR": str(root / "var"),
    }
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Start:
    """bin/start in a session of its own (as a terminal would run it), its output collected."""

    def __init__(self, root: Path, *args: str, env: dict[str, str]):
        self.process = subprocess.Popen(  # noqa: S603 (our own script)
            [str(root / "bin" / "start"), *args],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            if self.process.poll() is not None:
                self._reader.join(5)
                return text in self.output
            time.sleep(0.2)
        return False

    def finish(self, seconds: float) -> int:
        try:
            code = self.process.wait(seconds)
        finally:
            self.kill()
        self._reader.join(5)
        return code

    def ctrl_c(self) -> None:
        """What Ctrl-C in a terminal does: SIGINT to the whole foreground group."""
        os.killpg(self.process.pid, signal.SIGINT)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def assert_no_login(output: str) -> None:
    lowered = output.lower()
    assert "password" not in lowered and "login" not in lowered and "token" not in lowered
    assert "running" not in lowered


# --- A port already taken ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["--port", "VETRINA_PORT"])
def test_a_busy_port_is_refused_in_one_line_before_anything_starts(tmp_path, how):
    root = project_copy(tmp_path, SETUP_MUST_NOT_RUN)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args, extra = (("--port", str(port)), {}) if how == "--port" else ((), {how: str(port)})
        start = Start(root, *args, env=clean_env(root, **extra))
        code = start.finish(30)

    assert code != 0
    assert start.lines == [
        f"bin/start: port {port} on 127.0.0.1 is already in use (by another program, or a "
        "Vetrina started earlier): choose another with 'bin/start --port 8010' or "
        "'VETRINA_PORT=8010 bin/start'."
    ]
    assert_no_login(start.output)
    assert not (root / "setup-ran").exists()  # nothing set up, nothing started
    assert not (root / "var" / "log").exists()


def test_a_port_that_is_not_a_number_is_refused(tmp_path):
    root = project_copy(tmp_path, SETUP_MUST_NOT_RUN)
    start = Start(root, "--port", "80a", env=clean_env(root))
    assert start.finish(30) == 2
    assert start.lines == ["bin/start: '80a' is not a port number: e.g. bin/start --port 8010"]
    assert not (root / "setup-ran").exists()


def test_the_readme_says_how_to_choose_another_port():
    readme = (REPO / "README.md").read_text()
    assert "bin/start --port 8010" in readme and "VETRINA_PORT=8010 bin/start" in readme


# --- A real start (web server, worker and beat as processes) ---------------------------------

START_SECONDS = 180


@pytest.mark.worker
def test_a_start_says_running_once_all_three_answer_and_warns_of_nothing(tmp_path):
    root = project_copy(tmp_path, SETUP_MIGRATE)
    port = free_port()
    start = Start(root, "--port", str(port), env=clean_env(root))
    try:
        assert start.wait_for("Ctrl-C stops everything.", START_SECONDS), start.output
        logs = root / "var" / "log"
        # The three answered before "running" was said.
        assert re.search(r"celery@\S+ ready\.", (logs / "worker.log").read_text())
        assert "beat: Starting..." in (logs / "beat.log").read_text()
        assert "Vetrina is running" in start.output
        with pytest.raises(urllib.error.HTTPError) as not_found:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=10)
        assert not_found.value.code == 404
        time.sleep(1)
        start.ctrl_c()
        start.finish(60)
    finally:
        start.kill()

    terminal = start.output
    # A request problem is written once (Django's own console handler no longer doubles it).
    assert terminal.count("Not Found: /no-such-page/") == 1
    # No warning on a normal start: not in the terminal, not in the worker's or beat's log.
    # (The 404 above is the one WARNING line, and it is ours.)
    warnings = [
        line
        for text in (terminal, (logs / "worker.log").read_text(), (logs / "beat.log").read_text())
        for line in text.splitlines()
        if re.search(r"warn", line, re.IGNORECASE) and "Not Found: /no-such-page/" not in line
    ]
    assert warnings == []
    assert "No hostname was supplied" not in terminal
    # One time zone: gunicorn's own lines and Django's are both in Europe/Rome.
    rome = ZoneInfo("Europe/Rome")
    rome_now = datetime.now(rome)
    stamps = {
        name: datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=rome)
        for name, pattern in (
            ("gunicorn", r"^(\S+ \S+),\d{3} INFO gunicorn\.error: Starting gunicorn"),
            ("django", r"^(\S+ \S+),\d{3} WARNING django\.request: Not Found"),
        )
        if (match := re.search(pattern, terminal, re.MULTILINE))
    }
    assert set(stamps) == {"gunicorn", "django"}, terminal
    for name, stamp in stamps.items():
        assert abs((rome_now - stamp).total_seconds()) < 600, (name, stamp, rome_now)
    assert port_is_free(port)  # Ctrl-C stopped the web server


@pytest.mark.worker
def test_a_worker_that_never_answers_is_named_and_everything_stops(tmp_path):
    root = project_copy(tmp_path, SETUP_MIGRATE)
    port = free_port()
    closed = free_port()  # a broker nobody listens on: the worker keeps trying to connect
    env = clean_env(
        root, CELERY_BROKER_URL=f"redis://127.0.0.1:{closed}/0", VETRINA_START_TIMEOUT="15"
    )
    start = Start(root, "--port", str(port), env=env)
    try:
        code = start.finish(START_SECONDS)
    finally:
        start.kill()

    assert code == 1
    assert "bin/start: the Celery worker did not answer within 15 s; the last lines of" in (
        start.output
    )
    assert "Cannot connect to redis://" in start.output  # the end of its log, shown
    assert "bin/start: stopping the others." in start.output
    assert_no_login(start.output)
    assert port_is_free(port)


def test_the_script_is_valid_bash():
    result = subprocess.run(  # noqa: S603
        ["/bin/bash", "-n", str(REPO / "bin" / "start")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
