"""jsonstream (stdlib `raw_decode` over a sliding buffer) against ijson's C backend.

    python bench/bench_json_stream.py FILE.json   (e.g. from bench/make_otlp.py --spans 100000)

Times handing every span dict of an OTLP/JSON document to the caller (no conversion), three
runs each; ijson is optional (`pip install ijson`) and not a dependency of evaltui.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from evaltui.traces.jsonstream import JsonStream


def with_jsonstream(path: str) -> int:
    count = 0
    with open(path, "rb") as handle:
        stream = JsonStream(handle)
        for key in stream.object_keys():
            if key != "resourceSpans":
                stream.read_value()
                continue
            for _ in stream.array_items():
                for field in stream.object_keys():
                    if field != "scopeSpans":
                        stream.read_value()
                        continue
                    for _ in stream.array_items():
                        for scope_field in stream.object_keys():
                            if scope_field != "spans":
                                stream.read_value()
                                continue
                            for _ in stream.array_items():
                                stream.read_value()
                                count += 1
    return count


def with_ijson(path: str) -> int:
    import ijson  # type: ignore[import-not-found,unused-ignore]

    count = 0
    with open(path, "rb") as handle:
        prefix = "resourceSpans.item.scopeSpans.item.spans.item"
        for _ in ijson.items(handle, prefix, use_float=True):
            count += 1
    return count


def main() -> None:
    path = sys.argv[1]
    readers: list[tuple[str, Callable[[str], int]]] = [
        ("jsonstream", with_jsonstream),
        ("ijson", with_ijson),
    ]
    for name, reader in readers:
        times = []
        count = 0
        for _ in range(3):
            start = time.perf_counter()
            count = reader(path)
            times.append(time.perf_counter() - start)
        print(
            f"{name}: {count} spans; min {min(times):.2f} median {statistics.median(times):.2f}"
            f" max {max(times):.2f} s"
        )


if __name__ == "__main__":
    main()
