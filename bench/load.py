"""The load generator (Debian's wrk, installed by the bench when missing) and the servers it loads.

Every run is bounded: wrk gets a fixed duration and a request timeout; the servers are stopped with SIGINT,
then SIGKILL after a grace period; waits for start-up give up after a fixed time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_wrk(log=print) -> str:
    """Debian's wrk package (4.1), installed with apt-get when it is missing."""
    return ensure_apt("wrk", "wrk", log)


def ensure_apt(binary: str, package: str, log=print) -> str:
    """A Debian package's program, installed with apt-get (updating the lists once if needed) when missing."""
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")  # daemons live in sbin
    if found:
        return found
    log(f"{binary} is missing: installing Debian's package (apt-get install {package})")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    install = [*sudo, "apt-get", "-o", "DPkg::Lock::Timeout=900", "install", "-y", "-q", package]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, timeout=1200).returncode != 0:
        subprocess.run([*sudo, "apt-get", "-o", "DPkg::Lock::Timeout=900", "update", "-q"], env=env, timeout=1200,
                       check=True)
        subprocess.run(install, env=env, timeout=1200, check=True)
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")
    if not found:
        raise RuntimeError(f"{binary} could not be installed; install it with: apt-get install {package}")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mb(pid: int) -> tuple[float, float] | None:
    """(VmRSS, VmHWM) of a process in MB; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return (round(int(fields["VmRSS"].split()[0]) / 1024, 1), round(int(fields["VmHWM"].split()[0]) / 1024, 1))


def _children(parent: int) -> list[int]:
    """The processes whose parent is `parent`, leaving out multiprocessing's resource tracker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and "resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return sorted(found)


# -- servers -------------------------------------------------------------------------------------------

@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The uvicorn worker processes (children started by multiprocessing's spawn, not its resource tracker)."""
        return _children(self.process.pid)

    def rss_mb(self) -> list[dict]:
        """Resident and peak resident memory of each worker, from /proc/<pid>/status, and the peak of its
        cooking processes (which also hash passwords: forum/passwords.py)."""
        out = []
        for pid in self.workers():
            memory = _memory_mb(pid)
            if memory is None:
                continue
            cooks = [m for m in map(_memory_mb, _children(pid)) if m is not None]
            out.append({"pid": pid, "rss_mb": memory[0], "peak_mb": memory[1],
                        "cook_peak_mb": max((m[1] for m in cooks), default=None)})
        return out

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far, from /proc/<pid>/stat."""
        total = 0
        for pid in self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self, grace: float = 25.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def start_forum(database: Path, log_dir: Path, *, rate_limits: bool, workers: int = 2) -> Server:
    """`forum serve --workers 2`: the production entry point, its settings from the environment."""
    port = free_port()
    env = {**os.environ, "FORUM_DATABASE_URL": f"sqlite:///{database}", "FORUM_SECRET_KEY": secret_key(),
           "FORUM_RATE_LIMITS": "on" if rate_limits else "off", "FORUM_DEBUG": "off",
           "FORUM_EMAIL_VERIFICATION": "off"}
    env.pop("FORUM_ARGON2_PROFILE", None)
    return _start("forum", [_bin("forum"), "serve", "--workers", str(workers), "--host", "127.0.0.1",
                            "--port", str(port)], env, port, log_dir)


def start_ceiling(pages: Path, log_dir: Path, *, workers: int = 2) -> Server:
    """The ceiling app under the same server: uvicorn, 2 workers, httptools + uvloop, no access log."""
    port = free_port()
    env = {**os.environ, "BENCH_CEILING_PAGES": str(pages)}
    return _start("ceiling", [sys.executable, "-m", "uvicorn", "bench.ceiling:create_app", "--factory",
                              "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port),
                              "--no-access-log", "--log-level", "warning"], env, port, log_dir)


REFERENCE_DIR = Path(__file__).resolve().parent / "reference_ceiling"


def start_reference(log_dir: Path, *, workers: int = 2) -> Server:
    """The fixed reference ceiling (bench/reference_ceiling, a byte-for-byte copy of issue 20's), served as its
    README says: uvicorn, 2 workers, uvloop + httptools, no access log. Its topic page: /t/1/benchmark-topic."""
    port = free_port()
    return _start("reference", [sys.executable, "-m", "uvicorn", "--app-dir", str(REFERENCE_DIR), "app:app",
                                "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port),
                                "--no-access-log", "--log-level", "warning", "--loop", "uvloop",
                                "--http", "httptools"], dict(os.environ), port, log_dir)


def secret_key() -> str:
    from bench.probe import SECRET

    return SECRET


def _start(name: str, cmd: list[str], env: dict, port: int, log_dir: Path, timeout: float = 60.0) -> Server:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, process, port, log_path)
    deadline = time.monotonic() + timeout
    probe = {"forum": "/healthz", "reference": "/health"}.get(name, "/none")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} server exited at start-up; see {log_path}:\n{log_path.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(server.base + probe, timeout=2)
            if len(server.workers()) >= 1:
                time.sleep(0.5)  # let the second worker finish its start-up too
                return server
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and name == "ceiling":
                time.sleep(0.5)
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} server did not answer within {timeout} s; see {log_path}")


# -- wrk -------------------------------------------------------------------------------------------------

@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    transfer_mb: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    def find(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output)
        return match.group(1) if match else default

    requests, seconds = re.search(r"(\d+) requests in ([\d.]+)(\w+),", output).groups()[:2], None
    secs_match = re.search(r"\d+ requests in ([\d.]+)(ms|s|m),", output)
    seconds = _ms(secs_match.group(1) + secs_match.group(2)) / 1000
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    transfer = re.search(r"([\d.]+)([KMG]?B) read", output)
    scale = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}
    return WrkResult(
        requests=int(requests[0]), seconds=round(seconds, 2), rps=float(find(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"\n\s+50%\s+(\S+)", "0ms")), p90_ms=_ms(find(r"\n\s+90%\s+(\S+)", "0ms")),
        p99_ms=_ms(find(r"\n\s+99%\s+(\S+)", "0ms")),
        non_2xx=int(find(r"Non-2xx or 3xx responses: (\d+)")),
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        transfer_mb=round(float(transfer.group(1)) * scale[transfer.group(2)], 2) if transfer else 0.0,
    )


def run_wrk(url: str, *, duration: float, connections: int = 16, threads: int = 2, headers: dict | None = None,
            script: Path | None = None, timeout_s: int = 10) -> WrkResult:
    cmd = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
           f"--timeout={timeout_s}s"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout_s + 30)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def _lua_string(text: str) -> str:
    level = "=" * 4
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def paths_script(path: Path, paths: list[str]) -> Path:
    """A wrk script that cycles through several GET paths (each thread from its own offset)."""
    items = ",\n".join(_lua_string(p) for p in paths)
    path.write_text(f"""local paths = {{
{items}
}}
local n = 0
function setup(thread) thread:set("offset", math.random(#paths)) end
function request()
  n = n + 1
  return wrk.format("GET", paths[((n + (offset or 0)) % #paths) + 1])
end
""")
    return path


def posts_script(path: Path, topics: list[int], bodies: list[str], writers: list[dict]) -> Path:
    """A wrk script that creates replies through the JSON API: random topic, rotating body and writer,
    each body made unique with a counter."""
    topic_items = ", ".join(str(t) for t in topics)
    body_items = ",\n".join(_lua_string(json.dumps({"body": b})[:-2]) for b in bodies)  # drop the closing quote+brace
    writer_items = ",\n".join(f"{{cookie = {_lua_string(w['cookie'])}, csrf = {_lua_string(w['csrf'])}}}"
                              for w in writers)
    path.write_text(f"""local topics = {{ {topic_items} }}
local bodies = {{
{body_items}
}}
local writers = {{
{writer_items}
}}
local n = 0
function setup(thread) thread:set("tid", math.random(100000)) end
function init(args) math.randomseed(os.time() + (tid or 0)) end
function request()
  n = n + 1
  local w = writers[(n % #writers) + 1]
  local body = bodies[math.random(#bodies)] .. " (" .. (tid or 0) .. "-" .. n .. ")\\"}}"
  return wrk.format("POST", "/api/v1/topics/" .. topics[math.random(#topics)] .. "/posts",
    {{["Content-Type"] = "application/json", ["Cookie"] = w.cookie, ["X-CSRF-Token"] = w.csrf}}, body)
end
""")
    return path
