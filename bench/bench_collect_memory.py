"""The receiver's peak RSS under concurrent large posts (issue 11, finding 5).

    python bench/bench_collect_memory.py [--json-posts 40] [--gzip-posts 60]

Starts `evaltui collect` on 127.0.0.1 (a free port, a fresh store under a temp dir) and
sends, all at once: N valid OTLP/JSON posts of about 15 MB each (bench/make_otlp.py spans,
the same spans in each, so later posts are duplicates), then N gzip posts of about 48 KB that
inflate to 16 MB each. Prints the status codes seen and the receiver's peak RSS (VmHWM) and
RSS after each wave, as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gzip
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def memory(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) / 1024
    return out


def json_body(target: int) -> bytes:
    import make_otlp  # type: ignore[import-not-found]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "one.json"
        spans = 1000
        while True:
            make_otlp.write(path, spans, max(1, spans // 100), False)
            size = path.stat().st_size
            if size >= target * 0.9:
                return path.read_bytes()
            spans = int(spans * target / size) + 1


async def wave(port: int, bodies: list[bytes], headers: dict[str, str]) -> dict[int, int]:
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:

        async def one(body: bytes) -> int:
            try:
                url = f"http://127.0.0.1:{port}/v1/traces"
                return (await client.post(url, content=body, headers=headers)).status_code
            except httpx.HTTPError:
                return 0  # no answer at all

        codes = await asyncio.gather(*(one(body) for body in bodies))
    return dict(collections.Counter(codes))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json-posts", type=int, default=40)
    parser.add_argument("--gzip-posts", type=int, default=60)
    args = parser.parse_args()
    big = json_body(15 << 20)
    padding = b" " * ((16 << 20) - 64)
    inflated = b'{"resourceSpans": []' + padding[: (16 << 20) - 40] + b"}"
    bomb = gzip.compress(inflated, 9)
    result: dict[str, Any] = {"json_body_mb": len(big) / 2**20, "gzip_body_kb": len(bomb) / 1024}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        argv = [sys.executable, "-m", "evaltui.cli.traces", "collect", "--store"]
        argv += [str(Path(tmp) / "store.db"), "--port", str(port)]
        child = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            result["idle"] = memory(child.pid)
            start = time.perf_counter()
            json_type = {"Content-Type": "application/json"}
            result["json_codes"] = asyncio.run(wave(port, [big] * args.json_posts, json_type))
            result["json_s"] = round(time.perf_counter() - start, 1)
            result["after_json"] = memory(child.pid)
            start = time.perf_counter()
            gzip_headers = {**json_type, "Content-Encoding": "gzip"}
            result["gzip_codes"] = asyncio.run(wave(port, [bomb] * args.gzip_posts, gzip_headers))
            result["gzip_s"] = round(time.perf_counter() - start, 1)
            result["after_gzip"] = memory(child.pid)
        finally:
            child.terminate()
            child.wait(30)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
