"""Puts the results of `make bench` into docs/performance.md.

Each benchmark leaves its section's body in .cache/bench/results/NAME.md (written by
scripts/bench-record.sh or by the benchmark itself); the page marks where it goes:

    <!-- bench:NAME -->
    ...replaced on every run...
    <!-- /bench:NAME -->

The prose around the markers (what is measured, why a figure is what it is) is written by
hand. A result without a place in the page is an error, so nothing measured is dropped.

    python3 scripts/bench_report.py [NAME ...]     # default: every result present
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs/performance.md"
RESULTS = ROOT / ".cache/bench/results"


def main():
    names = sys.argv[1:] or sorted(p.stem for p in RESULTS.glob("*.md"))
    if not names:
        sys.exit(f"no results in {RESULTS}: run `make bench`")
    page = PAGE.read_text()
    missing = []
    for name in names:
        body = (RESULTS / f"{name}.md").read_text().strip()
        pattern = re.compile(
            rf"(<!-- bench:{re.escape(name)} -->\n).*?(\n<!-- /bench:{re.escape(name)} -->)",
            re.S)
        if not pattern.search(page):
            missing.append(name)
            continue
        page = pattern.sub(lambda m: m.group(1) + body + m.group(2), page, count=1)
        print(f"docs/performance.md: {name} updated")
    PAGE.write_text(page)
    if missing:
        sys.exit(f"docs/performance.md has no place for: {', '.join(missing)} "
                 "(add <!-- bench:NAME --> … <!-- /bench:NAME --> where it belongs)")


if __name__ == "__main__":
    main()
