"""Synthetic Justuno lead exports at any scale, in the shapes of ``tests/data``.

Rows are the sample rows with a unique, still messy email per lead (capitals, stray
spaces), so a file of N rows holds N distinct leads. Deterministic for a given ``seed``.
Streams: never holds more than one row in memory.

    python -m bench.leadgen csv 1000000 /tmp/leads.csv
"""

from __future__ import annotations

import csv
import io
import random
import sys
from collections.abc import Iterator
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "justuno-leads-sample.csv"


def _templates() -> tuple[list[str], list[dict[str, str]]]:
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def rows(n: int, *, seed: int = 7) -> Iterator[dict[str, str]]:
    """``n`` lead rows with distinct emails (rows whose template has no email keep a phone)."""
    _, templates = _templates()
    rng = random.Random(seed)
    for i in range(n):
        row = dict(templates[i % len(templates)])
        if row.get("Email", "").strip():
            local = rng.choice(["Lead", "lead", " LEAD", "Lead.X"]) + str(i)
            row["Email"] = f"{local}@Example.com" + rng.choice(["", " "])
        elif not row.get("Phone", "").strip():
            row["Email"] = f"lead{i}@example.org"
        yield row


def write_csv(n: int, path: Path, *, seed: int = 7) -> Path:
    header, _ = _templates()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        for row in rows(n, seed=seed):
            writer.writerow(row)
    return path


def csv_text(n: int, *, seed: int = 7) -> str:
    header, _ = _templates()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows(n, seed=seed))
    return buf.getvalue()


def cli(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "csv":
        sys.exit("usage: python -m bench.leadgen csv N PATH")
    write_csv(int(args[1]), Path(args[2]))


if __name__ == "__main__":
    cli()
