"""Rewrites the fuzz section of docs/reliability.md (between `<!-- fuzz:begin -->` and
`<!-- fuzz:end -->`) from the ledger of recorded runs and the list of crashes found and fixed.

usage: fuzz_report.py LEDGER.tsv CRASHES.tsv RELIABILITY.md

LEDGER.tsv: date, target, seconds, executions, crashes, sanitizer (one line per target per run,
appended by `scripts/fuzz.sh --record`). CRASHES.tsv: target, what crashed, the input, fixed in
(commit); kept by hand as crashes are fixed.
"""

import sys
from collections import defaultdict
from pathlib import Path

BEGIN, END = "<!-- fuzz:begin -->", "<!-- fuzz:end -->"
TARGETS_DOC = {
    "pattern": "EventBridge pattern parser and matcher (`mediasift_kit::pattern`), pattern set vs. single pattern",
    "events": "every catalog detail type through the services' `decode`, and the `Processing Failed` of a malformed event",
    "captions": "SubRip and WebVTT sidecars (`mediasift_ingest::proxy::captions`); output re-reads unchanged",
    "exif": "exiftool JSON into image facts (`mediasift_media::image`), stored and read back, EXIF summary (`mediasift_image::exif`)",
    "metadata": "ffprobe and mediainfo JSON into a probe (`mediasift_media::probe`) and ingest's technical summaries",
}


def rows(path):
    text = Path(path).read_text() if Path(path).exists() else ""
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            yield line.split("\t")


def section(ledger, crashes):
    totals = defaultdict(lambda: [0, 0, 0, 0])
    for _date, target, seconds, runs, found, _sanitizer in rows(ledger):
        total = totals[target]
        total[0] += int(seconds)
        total[1] += int(runs)
        total[2] += int(found)
        total[3] += 1
    fixed = defaultdict(int)
    for target, *_rest in rows(crashes):
        fixed[target] += 1
    lines = [
        BEGIN,
        "<!-- written by scripts/fuzz.sh --record (make fuzz) from fuzz/ledger.tsv and fuzz/crashes.tsv -->",
        "## Fuzzing",
        "",
        "cargo-fuzz (libFuzzer) targets in `fuzz/` feed arbitrary bytes to every parser of outside",
        "input; each target also checks a property of what the parser accepts, so a wrong result",
        "fails the run as a panic does. Seeds in `fuzz/corpus/<target>/` are real: the patterns of",
        "`contracts/rules/`, the events of `contracts/examples/`, caption files, and exiftool,",
        "ffprobe and mediainfo JSON of the test media. `make test` runs each target for",
        "`FUZZ_TEST_SECONDS` (15 s); `make fuzz` for `FUZZ_SECONDS` (600 s) and records the runs",
        "here. The targets build without a sanitizer: the code they reach has no `unsafe`, so",
        "AddressSanitizer could only slow the build and the runs. Totals of the recorded runs:",
        "",
        "| target | what it fuzzes | runs recorded | fuzz time | executions | crashes found | fixed |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for target in sorted(totals, key=lambda t: list(TARGETS_DOC).index(t) if t in TARGETS_DOC else 99):
        seconds, runs, found, count = totals[target]
        lines.append(
            f"| `{target}` | {TARGETS_DOC.get(target, '')} | {count} | {seconds / 3600:.2f} h | "
            f"{runs:,} | {found} | {fixed[target]} |"
        )
    all_seconds = sum(t[0] for t in totals.values())
    all_runs = sum(t[1] for t in totals.values())
    lines.append(f"| all | | | {all_seconds / 3600:.2f} h | {all_runs:,} | "
                 f"{sum(t[2] for t in totals.values())} | {sum(fixed.values())} |")
    lines += ["", "Crashes found and fixed (each has a regression test next to the code that crashed):", ""]
    found_rows = list(rows(crashes))
    if found_rows:
        lines += ["| target | what crashed | input | fixed in |", "| --- | --- | --- | --- |"]
        lines += [f"| `{t}` | {what} | {given} | {commit} |" for t, what, given, commit in found_rows]
    else:
        lines.append("none so far.")
    lines.append(END)
    return "\n".join(lines)


def main(ledger, crashes, doc):
    doc = Path(doc)
    text = doc.read_text() if doc.exists() else "# Reliability\n"
    new = section(ledger, crashes)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + new + tail
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    main(*sys.argv[1:])
