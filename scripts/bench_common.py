"""Shared pieces of the benchmark scripts: where results go, the machine line every figure
carries, and a sampler of a process tree's memory.

Each benchmark writes its section of docs/performance.md as Markdown into
.cache/bench/results/NAME.md; scripts/bench_report.py puts the sections into the page.
"""

import datetime
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".cache/bench/results"


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line():
    """`2026-11-22, 2 cores (CPU), load average 0.4 at the start`."""
    load = os.getloadavg()[0]
    today = datetime.date.today().isoformat()
    return f"{today}, {os.cpu_count()} cores ({cpu_model()}), load average {load:.1f} at the start"


def event_times(binary, data):
    """When each kind of event was first published on a local run's bus (`mediasift events
    --json`, seconds since the epoch), and the details of every `Processing Failed`."""
    done = subprocess.run([str(binary), "events", "--data-dir", str(data), "--json"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"mediasift events failed ({done.returncode}):\n{done.stderr[-3000:]}")
    times, failures = {}, []
    for line in done.stdout.splitlines():
        event = json.loads(line)
        kind = event["detail-type"]
        at = datetime.datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
        if kind == "Processing Failed":
            failures.append(event["detail"])
        times.setdefault(kind, at)
    return times, failures


def write_result(name, markdown):
    """Writes one section's body for scripts/bench_report.py and prints it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n")
    print(markdown)
    print(f"(written to {path.relative_to(ROOT)})")


def _children(pid):
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        found = []
        for task in tasks:
            text = (task / "children").read_text().split()
            found.extend(int(c) for c in text)
        return found
    except OSError:
        return []


def _rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeMemory:
    """Samples a process and its descendants every `interval` seconds: the peak of the
    process alone and of the whole tree summed (what the machine must hold at once)."""

    def __init__(self, pid, interval=0.1):
        self.pid = pid
        self.interval = interval
        self.peak_self_kib = 0
        self.peak_tree_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            own = _rss_kib(self.pid)
            total, todo, seen = 0, [self.pid], set()
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                total += _rss_kib(pid)
                todo.extend(_children(pid))
            self.peak_self_kib = max(self.peak_self_kib, own)
            self.peak_tree_kib = max(self.peak_tree_kib, total)
            time.sleep(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()


def mib(kib):
    return f"{kib / 1024:.0f} MiB"


if __name__ == "__main__":
    # For the shell scripts: `bench_common.py machine` prints the machine line;
    # `bench_common.py stage BIN DATA START END` the seconds from one event to another.
    if sys.argv[1:2] == ["machine"]:
        print(machine_line())
    elif sys.argv[1:2] == ["stage"] and len(sys.argv) == 6:
        times, _ = event_times(sys.argv[2], sys.argv[3])
        print(f"{times[sys.argv[5]] - times[sys.argv[4]]:.3f}")
    else:
        sys.exit("usage: bench_common.py machine | stage BIN DATA START_EVENT END_EVENT")
