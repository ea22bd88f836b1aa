"""Issue 7's targets, computed from one run's figures, and the Markdown table."""

from __future__ import annotations

PAGES = ["topic_anon", "topic_anon_304", "topic_signed", "category", "home", "big_first", "big_deep", "search"]
LABELS = {
    "topic_anon": "topic page, 20 posts, anonymous", "topic_anon_304": "same, If-None-Match (304)",
    "topic_signed": "topic page, 20 posts, signed in",
    "category": "category page", "home": "`/` (latest topics)", "big_first": "long topic, page 1",
    "big_deep": "long topic, last page", "search": "search (2 connections)",
    "create_post": "creating replies (JSON API)",
    "sitemap": "`/sitemap.xml` (index)", "sitemap_page": "sitemap page 1", "feed": "`/feed.atom`",
    "category_feed": "category feed",
}
# issue 26: fetched by crawlers and feed readers; a sitemap page reads its topics in batches, so its query count
# grows with the topics it lists (not part of the constant-queries target)
FINDABLE = ["sitemap", "sitemap_page", "feed", "category_feed"]
FINDABLE_P50_MS = 50


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _rps(result: dict, case: str) -> float | None:
    return (result["cases"].get(case) or {}).get("rps")


def _cpu(result: dict, case: str) -> float | None:
    return (result["cases"].get(case) or {}).get("cpu_ms")


def _capacity(result: dict, case: str, reference: str) -> float | None:
    """How many requests of `case` the server CPU serves per request of `reference` (their CPU ms inverted)."""
    return _ratio(_cpu(result, reference), _cpu(result, case))


def _row(name: str, measured: str, goal: str, ok: bool | None, **values) -> dict:
    return {"name": name, "measured": measured, "goal": goal, "ok": ok, "values": values}


def _all(values: dict, test) -> bool | None:
    known = [v for v in values.values() if v is not None]
    return all(test(v) for v in known) if known else None


def _fmt(values: dict, spec: str = ".2f") -> str:
    return ", ".join(f"{k}: {format(v, spec) if isinstance(v, float) else v}" for k, v in values.items())


def targets(data: dict) -> list[dict]:
    sizes = list(data["sizes"])
    small, large = sizes[0], sizes[-1]
    results = data["sizes"]
    rows = []
    for page, goal, label in (("topic_anon", 0.5, "topic page, anonymous vs its ceiling"),
                              ("topic_signed", 0.4, "topic page, signed in vs its ceiling"),
                              ("category", 0.5, "category page vs its ceiling"),
                              ("home", 0.5, "`/` vs its ceiling")):
        values = {s: _capacity(results[s], page, f"ceiling_{page}") for s in sizes}
        by_rps = {s: _ratio(_rps(results[s], page), _rps(results[s], f"ceiling_{page}")) for s in sizes}
        rows.append(_row(label, f"CPU {_fmt(values)} (req/s {_fmt(by_rps)})", f"≥ {goal:.2f}",
                         _all(values, lambda v, g=goal: v >= g), **values))
    rows += reference_targets(results, sizes)
    values = {s: _capacity(results[s], "big_deep", "big_first") for s in sizes}
    by_rps = {s: _ratio(_rps(results[s], "big_deep"), _rps(results[s], "big_first")) for s in sizes}
    rows.append(_row("last page of the long topic vs its page 1", f"CPU {_fmt(values)} (req/s {_fmt(by_rps)})",
                     "≥ 0.90", _all(values, lambda v: v >= 0.9), **values))
    if len(sizes) > 1:
        values = {p: _ratio(_cpu(results[small], p), _cpu(results[large], p)) for p in PAGES}
        by_rps = {p: _ratio(_rps(results[large], p), _rps(results[small], p)) for p in PAGES}
        rows.append(_row(f"each page at {large} vs at {small}", f"CPU {_fmt(values)} (req/s {_fmt(by_rps)})",
                         "≥ 0.90 each", _all(values, lambda v: v >= 0.9), **values))
    search = results[large]["cases"].get("search") or {}
    latency = f"{search.get('p50_ms', 0):.1f} / {search.get('p99_ms', 0):.1f} ms"
    rows.append(_row(f"search at {large}: p50 / p99", latency, "< 50 / < 250 ms",
                     bool(search) and search["p50_ms"] < 50 and search["p99_ms"] < 250))
    values = {s: (results[s]["cases"].get("create_post") or {}).get("posts_per_s") for s in sizes}
    rows.append(_row("creating posts, 2 workers, SQLite (posts/s)", _fmt(values, ".0f"), "≥ 200",
                     _all(values, lambda v: v >= 200), **values))
    wd = {s: results[s].get("withdrawal") or {} for s in sizes}
    values = {s: (w.get("base") or {}).get("seconds") for s, w in wd.items()}
    statuses = {s: (w.get("base") or {}).get("status") for s, w in wd.items()}
    available = all(code in (200, 204) for code in statuses.values())
    base = next(iter(wd.values())).get("base") or {}
    label = f"consent withdrawal, {base.get('posts', 0):,} posts + {base.get('mentions', 0):,} mentions (s)"
    rows.append(_row(label, _fmt(values) + ("" if available else f" (HTTP {_fmt(statuses, 'd')})"),
                     "< 3 s", _all(values, lambda v: v < 3) if available else False, **values))
    ten = wd[large].get("tenfold") or {}
    one = wd[large].get("base") or {}
    ratio = _ratio(ten.get("seconds"), one.get("seconds"))
    ten_ok = ten.get("status") in (200, 204) and one.get("status") in (200, 204)
    measured = f"{ratio if ratio is not None else '-'} ({ten.get('seconds', '-')} s vs {one.get('seconds', '-')} s)"
    rows.append(_row(f"withdrawal, 10x posts and mentions vs 1x, at {large}",
                     measured + ("" if ten_ok else f" (HTTP {ten.get('status')})"),
                     "≤ 12", (ratio is not None and ratio <= 12) if ten_ok else False, ratio=ratio))
    rss = [w["rss_mb"] for w in results[large]["cases"].get("_rss", []) + results[large].get("rss_write", [])]
    peak = [w["peak_mb"] for w in results[large]["cases"].get("_rss", []) + results[large].get("rss_write", [])]
    workers = results[large]["cases"].get("_rss", []) + results[large].get("rss_write", [])
    cooks = [w.get("cook_peak_mb") for w in workers]
    cooks = [c for c in cooks if c is not None]
    # the cooking processes take the hashes' 64 MiB apart from the worker (forum/passwords.py): shown beside
    cooked = f"; its cooking processes peak at {max(cooks):.0f} MB" if cooks else ""
    rows.append(_row(f"RSS per worker at {large} (max now / peak)",
                     f"{max(rss, default=0):.0f} / {max(peak, default=0):.0f} MB{cooked}", "< 150 MB",
                     bool(rss) and max(peak) < 150, rss=max(rss, default=None), peak=max(peak, default=None),
                     cook_peak=max(cooks, default=None)))
    counts = {p: [results[s]["cases"][p]["queries"] for s in sizes] for p in PAGES}
    constant = all(len(set(v)) == 1 for v in counts.values()) and all(
        results[s]["cases"]["big_deep"]["queries"] == results[s]["cases"]["big_first"]["queries"] for s in sizes)
    listed = ", ".join(f"{p}: {'/'.join(map(str, v))}" for p, v in counts.items())
    rows.append(_row("queries per page (each size)", listed, "constant per page type", constant, **counts))
    p50 = {f"{s}/{p}": (results[s]["cases"].get(p) or {}).get("p50_ms") for s in sizes for p in FINDABLE}
    rows.append(_row("sitemap and feeds p50 (ms)", _fmt(p50), f"< {FINDABLE_P50_MS} (at 1M)",
                     _all(p50, lambda v: v < FINDABLE_P50_MS), **p50))
    return rows


def reference_targets(results: dict, sizes: list[str]) -> list[dict]:
    """Issue 20: requests/s against the fixed reference ceiling (bench/reference_ceiling) measured beside each
    case in the same round, p99 of the anonymous topic page, the 304, the signed-in page's weight."""
    rows = []
    for page, goal, label in (("topic_anon", 2.0, "topic page, anonymous vs the reference ceiling"),
                              ("category", 2.0, "category page vs the reference ceiling"),
                              ("home", 2.0, "`/` vs the reference ceiling"),
                              ("topic_signed", 0.6, "topic page, signed in vs the reference ceiling"),
                              ("topic_anon_304", 4.0, "conditional GET (304) vs the reference ceiling")):
        values = {s: _ratio(_rps(results[s], page), _rps(results[s], f"reference_{page}")) for s in sizes}
        rows.append(_row(label, f"req/s {_fmt(values)}", f"≥ {goal:.2f}", _all(values, lambda v, g=goal: v >= g),
                         **values))
    values = {s: (results[s]["cases"].get("topic_anon") or {}).get("p99_ms") for s in sizes}
    rows.append(_row("p99 of the anonymous topic page (ms)", _fmt(values, ".1f"), "< 30",
                     _all(values, lambda v: v < 30), **values))
    values = {s: round((results[s]["cases"].get("topic_signed") or {}).get("bytes", 0) / 1024, 1) for s in sizes}
    rows.append(_row("signed-in topic page, 20 posts (KB)", _fmt(values, ".1f"), "≤ 40",
                     _all(values, lambda v: 0 < v <= 40), **values))
    return rows


def markdown(data: dict) -> str:
    m = data["machine"]
    when = data["started"].replace("T", " ").replace("+00:00", " UTC")
    lines = [f"### Benchmark {when} ({data['profile']['name']})", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}, "
             f"SQLite {m['sqlite']}, "
             f"uvicorn {m['packages'].get('uvicorn')} (uvloop {m['packages'].get('uvloop')}, httptools "
             f"{m['packages'].get('httptools')}), Starlette {m['packages'].get('starlette')}, Jinja2 "
             f"{m['packages'].get('jinja2')}, Tortoise {m['packages'].get('tortoise-orm')}. "
             f"{data['profile']['duration']:g} s of wrk per case, {data['profile']['connections']} connections "
             f"(2 threads) unless noted; both servers 2 workers on 127.0.0.1; wrk shares the 2 cores.", ""]
    loads = [case["loadavg"] for r in data["sizes"].values() for case in r["cases"].values()
             if isinstance(case, dict) and "loadavg" in case]
    if loads:
        lines.append(f"1-minute load average after each case: {min(loads):.1f} to {max(loads):.1f} (2 cores; the "
                     "bench itself accounts for about 2-3 of it, the rest is other work on the machine).")
    for name, r in data["sizes"].items():
        c = r["counts"]
        lines.append(f"Size {name}: {c['post']:,} posts, {c['topic']:,} topics, {c['account']:,} users, "
                     f"{c['notification']:,} notifications, {r['db_mb']:,} MB (seeded in {r.get('seed_seconds')} s "
                     f"when not cached).")
    lines += ["", "Ceiling: our own template rendered from memory (bench/ceiling.py); reference: the fixed reference "
              "ceiling of issue 20 (bench/reference_ceiling), measured just before each case in the same round.",
              "", "| case | size | req/s | ceiling req/s | % of ceiling | reference req/s | % of reference "
              "| CPU ms/req | ceiling CPU ms/req | % of ceiling (CPU) | p50 ms | p99 ms | queries | page KB |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for page in PAGES + FINDABLE + ["create_post"]:
        for name, r in data["sizes"].items():
            case = r["cases"].get(page)
            if not case:
                continue
            ceiling = r["cases"].get(f"ceiling_{page}")
            rps = case.get("posts_per_s", case["rps"]) if page == "create_post" else case["rps"]
            share = f"{100 * case['rps'] / ceiling['rps']:.0f} %" if ceiling else ""
            reference = r["cases"].get(f"reference_{page}")
            ref = (f"{reference['rps']:,.0f} | {100 * case['rps'] / reference['rps']:.0f} %"
                   if reference and page != "create_post" else " | ")
            cpu = case.get("cpu_ms")
            cpu_share = f"{100 * ceiling['cpu_ms'] / cpu:.0f} %" if ceiling and cpu else ""
            kb = f"{case['bytes'] / 1024:.1f}" if case.get("bytes") else ""
            lines.append(
                f"| {LABELS[page]}{' (posts/s)' if page == 'create_post' else ''} | {name} | {rps:,.0f} | "
                f"{format(ceiling['rps'], ',.0f') if ceiling else ''} | {share} | {ref} | "
                f"{format(cpu, '.2f') if cpu is not None else ''} | "
                f"{format(ceiling['cpu_ms'], '.2f') if ceiling else ''} | {cpu_share} | {case['p50_ms']:.2f} | "
                f"{case['p99_ms']:.2f} | {case.get('queries', '')} | {kb} |")
    lines += ["", "| target | measured | goal | met |", "|---|---|---|---|"]
    for t in data["targets"]:
        mark = {True: "yes", False: "**no**", None: "n/a"}[t["ok"]]
        lines.append(f"| {t['name']} | {t['measured']} | {t['goal']} | {mark} |")
    lines.append("")
    for name, r in data["sizes"].items():
        for key, w in (r.get("withdrawal") or {}).items():
            lines.append(f"Withdrawal {key} at {name}: {w['posts']:,} posts, {w['mentions']:,} mentions → HTTP "
                         f"{w['status']} in {w['seconds']} s; answer: {w['response']}")
    return "\n".join(lines) + "\n"
