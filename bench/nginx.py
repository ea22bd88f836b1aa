"""`python -m bench.nginx [--seconds 5] [--rounds 2]`: what nginx's microcache in front of the forum buys (issue 20).

The deployment guide's nginx configuration (README, Deployment: caching), on the cached 10k seed: `forum serve
--workers 2` and nginx (Debian's package, installed with apt-get when missing; one worker, as a plain user
process under a scratch prefix) on 127.0.0.1, wrk loading the anonymous topic page directly and through nginx,
and the signed-in page through nginx (never stored: bypassed by its session cookie). For each: requests/s,
p50/p99, and the app workers' CPU time per request, which is what the cache takes off the app (a hit costs the app
nothing; every second one revalidation, a 304 from one query). Prints a Markdown table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import load
from bench.corpus import Corpus
from bench.run import CACHE, loadavg, pages_for, sign_in
from bench.seed import SIZES, cached_database

CONF = """
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream forum {{ server 127.0.0.1:{upstream}; keepalive 32; }}
    proxy_cache_path {prefix}/cache keys_zone=forum:50m max_size=1g inactive=1h;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://forum;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_cache forum;
            proxy_ignore_headers Cache-Control Expires;
            proxy_cache_valid 200 1s;
            proxy_cache_revalidate on;
            proxy_cache_key $scheme$host$request_uri$cookie_forum_lang$http_accept_language;
            proxy_no_cache $cookie_forum_session;
            proxy_cache_bypass $cookie_forum_session;
            add_header X-Cache $upstream_cache_status;
        }}
    }}
}}
"""


def start_nginx(binary: str, upstream: int, prefix: Path) -> tuple[subprocess.Popen, int]:
    port = load.free_port()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "cache"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""  # root's workers would otherwise drop to nobody: no cache dir
    conf.write_text(CONF.format(user=user, prefix=prefix, upstream=upstream, port=port))
    process = subprocess.Popen([binary, "-p", str(prefix), "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"nginx did not start: {process.stderr.read().decode()}") from None
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("nginx did not answer in 20 s")


def x_cache(url: str, headers: dict | None = None) -> str:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return response.headers.get("X-Cache", "")


def case(name: str, forum: load.Server, url: str, seconds: float, headers: dict | None = None) -> dict:
    cpu = forum.cpu_seconds()
    result = load.run_wrk(url, duration=seconds, connections=16, threads=2, headers=headers).as_dict()
    served = max(1, result["requests"])
    result.update(case=name, app_cpu_ms_per_request=round((forum.cpu_seconds() - cpu) * 1000 / served, 4),
                  loadavg=loadavg())
    print(f"{name:<34} {result['rps']:>9,.0f} req/s  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
          f"  app CPU {result['app_cpu_ms_per_request']:.3f} ms/req", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.nginx", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--results", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    binary = load.ensure_apt("nginx", "nginx")
    load.ensure_wrk()
    seed, meta = cached_database(SIZES["10k"], Corpus)
    work = CACHE / f"nginx-{os.getpid()}.sqlite3"
    shutil.copy(seed, work)
    prefix = Path(tempfile.mkdtemp(prefix="forum-nginx-"))
    forum = load.start_forum(work, CACHE / "logs", rate_limits=False)
    nginx = None
    try:
        nginx, port = start_nginx(binary, forum.port, prefix)
        topic = pages_for(meta)["topic_anon"][1]
        reader = sign_in(forum.base, meta["reader"], meta["password"])
        signed = {"Cookie": reader["cookie"]}
        proxied = f"http://127.0.0.1:{port}{topic}"
        x_cache(proxied)
        statuses = [x_cache(proxied) for _ in range(3)] + [x_cache(proxied, signed)]
        rounds = []
        for _ in range(args.rounds):
            rounds.append([case("topic page, anonymous, direct", forum, forum.base + topic, args.seconds),
                           case("topic page, anonymous, via nginx", forum, proxied, args.seconds),
                           case("topic page, signed in, via nginx", forum, proxied, args.seconds, signed)])
        best = [max((r[i] for r in rounds), key=lambda c: c["rps"]) for i in range(3)]
        data = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "x_cache": statuses, "cases": best,
                "nginx": subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()}
        out = Path(args.results)
        out.mkdir(parents=True, exist_ok=True)
        (out / "nginx-latest.json").write_text(json.dumps(data, indent=1))
        print(f"\n{data['nginx']}; X-Cache of anonymous requests after the first, then signed in: {statuses}\n")
        print("| case | req/s | p50 ms | p99 ms | app CPU ms per request |\n|---|---:|---:|---:|---:|")
        for c in best:
            print(f"| {c['case']} | {c['rps']:,.0f} | {c['p50_ms']:.2f} | {c['p99_ms']:.2f} | "
                  f"{c['app_cpu_ms_per_request']:.3f} |")
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        forum.stop()
        for suffix in ("", "-wal", "-shm", "-writers"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(prefix, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
