"""The benchmark's table from results.jsonl: one row per scenario and
concurrency, req/s and p50/p99 (ms) per server, and Tanu's ratio to node
oidc-provider; then each server's CPU per request (and PostgreSQL's); then
idle and peak RSS per server."""
import json
import sys

rows, rss, order, face, stages = {}, {}, [], [], {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    t = r["target"]
    if t not in order:
        order.append(t)
    if "stages" in r:
        stages = r["stages"]
        continue
    if "rss" in r:
        rss[t] = r["rss"]
        continue
    x = r["result"]
    if x["mode"] == "face":
        face.append(x)
        continue
    if "server_ticks" in r and x.get("requests"):
        x["cpu_us"] = r["server_ticks"] / r["hz"] / x["requests"] * 1e6
        x["db_us"] = r["db_ticks"] / r["hz"] / x["requests"] * 1e6
    rows.setdefault((x["mode"], x["concurrency"]), {})[t] = x

order_http = [t for t in order if t != "tanu-face"]
tanus = [t for t in order_http if t.startswith("tanu")]
ref = "oidc-provider" if "oidc-provider" in order else None
def table(head, cell, ratios=False):
    """One row per scenario and concurrency; `cell(t, x)` for each server's
    result, then (`ratios`) each Tanu's requests/s over oidc-provider's."""
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for (mode, c), by in rows.items():
        cells = [mode, str(c)] + [cell(t, by[t]) if t in by else "—" for t in order_http]
        if ratios and ref:
            for t in tanus:
                a, b = by.get(t), by.get(ref)
                cells.append(f"{a['rps'] / b['rps']:.2f}×" if a and b and b["rps"] else "—")
        print("| " + " | ".join(cells) + " |")
    print()


def throughput(t, x):
    bad = f", {x['errors']} errors ({x['firstError']})" if x["errors"] else ""
    gen = " ⚠gen" if x.get("gen_cpu", 0) > 0.9 else ""
    return f"{x['rps']:.0f} ({x['p50']:.1f}/{x['p99']:.1f}){bad}{gen}"


def cpu(t, x):
    if "cpu_us" not in x:
        return "—"
    return f"{x['cpu_us']:.0f} / {x['db_us']:.0f}" if t == "tanu-postgres" else f"{x['cpu_us']:.0f}"


if rows:
    head = ["scenario", "conc"] + [f"{t} req/s (p50/p99 ms)" for t in order_http] + ([f"{t} ÷ oidc-provider" for t in tanus] if ref else [])
    table(head, throughput, ratios=True)
if any("cpu_us" in x for by in rows.values() for x in by.values()):
    table(["scenario", "conc"] + [f"{t} CPU µs per request" + (" (server / PostgreSQL)" if t == "tanu-postgres" else "") for t in order_http], cpu)
if face:
    print("| face sign-ins (PostgreSQL) | conc | sign-ins/s | server CPU per sign-in | verify after the last frame p50/p99 | whole sign-in p50/p99 |")
    print("|---|---|---|---|---|---|")
    for x in face:
        print(
            f"| {x['sign_ins']} × {x['frames']} frames | {x['concurrency']} | {x['rps']:.2f} | {x['cpu_ms_per_sign_in']:.0f} ms"
            f" | {x['verify_p50']:.0f} / {x['verify_p99']:.0f} ms | {x['p50']:.0f} / {x['p99']:.0f} ms |"
        )
    print()
if stages:
    print("| face stage (server, per call) | " + " | ".join(stages) + " |")
    print("|---|" + "---|" * len(stages))
    print("| mean ms | " + " | ".join(f"{v['mean_ms']:.2f}" for v in stages.values()) + " |")
    print("| calls | " + " | ".join(f"{v['calls']:.0f}" for v in stages.values()) + " |")
    print()
print("| server | RSS idle | RSS peak (VmHWM) |")
print("|---|---|---|")
for t in order:
    if t in rss:
        print(f"| {t} | {rss[t]['idle_kb'] / 1024:.0f} MB | {rss[t]['peak_kb'] / 1024:.0f} MB |")
print()
if rows:
    print("⚠gen: the load generator used more than 90 % of its core; that cell may measure the generator, not the server.")
