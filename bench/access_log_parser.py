"""Benchmark (not a test): lines per second of the access-log parser beside AWS's
documented access-log regex (the Athena one) applied with Python's re, same file, same run.
Ours reads the file as the auditor reads an object: bytes in chunks, split into records on
"\n" only, parsed a batch at a time (the per-object caps are raised for this one big file).
Both take turns and are timed in CPU time of this process, so that other work on a shared
machine does not decide the ratio.

    .venv/bin/python bench/access_log_parser.py [--lines 1000000]

Prints both rates, the ratio, and where the baseline is fooled and the parser is not.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The validators, and the sample lines that the tests share (they never ship).
sys.path[:0] = [str(REPO / "lambda_src"), str(REPO / "tests")]

from access_log_samples import generated_lines, plain_http_line  # noqa: E402
from trail_validators.access_logs import stream as access_log_stream  # noqa: E402
from trail_validators.access_logs.parser import ParseError, parse_line, parse_lines  # noqa: E402
from trail_validators.access_logs.stream import record_lines  # noqa: E402
from trail_validators.access_logs.sources import body_chunks  # noqa: E402

# From the Amazon Athena documentation's table for S3 server access logs.
AWS_REGEX = re.compile(
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) (\"[^\"]*\"|-) (-|[0-9]*) ([^ ]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) (\"[^\"]*\"|-) ([^ ]*)(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) '
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$')


def baseline(path: Path) -> int:
    count = 0
    with path.open() as lines:
        for line in lines:
            match = AWS_REGEX.match(line)
            if match is not None:
                match.groups()
                count += 1
    return count


def ours(path: Path) -> int:
    count = 0
    with path.open("rb") as file:
        for batch in record_lines(body_chunks(file)):
            if type(batch) is list:
                count += sum(1 for _ in parse_lines(batch))
    return count


def timed(functions, path: Path, repeats: int) -> list[tuple[float, int]]:
    """Best CPU time and result of each function, the functions taking turns."""
    best, results = [float("inf")] * len(functions), [0] * len(functions)
    for _ in range(repeats):
        for i, function in enumerate(functions):
            start = time.process_time()
            results[i] = function(path)
            best[i] = min(best[i], time.process_time() - start)
    return list(zip(best, results))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    access_log_stream.MAX_OBJECT_BYTES = access_log_stream.MAX_OBJECT_LINES = 2**40
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "access.log"
        path.write_text("\n".join(generated_lines(args.lines)) + "\n")
        (base_s, base_n), (ours_s, ours_n) = timed((baseline, ours), path, args.repeats)
    print(f"lines: {args.lines:,} (best of {args.repeats})")
    print(f"baseline (AWS regex, re): {args.lines / base_s:>12,.0f} lines/s  matched {base_n:,}")
    print(f"secure-trail parser:      {args.lines / ours_s:>12,.0f} lines/s  records {ours_n:,}")
    print(f"ratio (ours / baseline):  {base_s / ours_s:.2f}x")

    forged = plain_http_line(user_agent='x" - id SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader h TLSv1.2 - -')
    groups = AWS_REGEX.match(forged).groups()
    try:
        tls = parse_line(forged).tls_version
    except ParseError as error:
        tls = f"unparseable ({error})"
    print(f"plain-HTTP line with a forged user-agent: baseline reads TLS version {groups[23]!r}, "
          f"secure-trail reads {tls!r}")


if __name__ == "__main__":
    main()
