#!/usr/bin/env python3
"""Runs the DfE SSDA903 validation rules (`csc-validator-be-903`, module `lac_validator`) over a folder of
SSDA903 CSV tables and prints one JSON object with every rule hit.

    python scripts/validators/validate_903.py --year 2025 --dir out/2024-25 [--prev out/2023-24] [--la E08000026]

`--year` is the year the collection ends in (2025 for 2024/25); the ruleset is that year's (`lac2024_25`).
Every `*.csv` in `--dir` is read as "This year" (the validator recognises each table by its columns), and
those in `--prev` as "Prev year". The package's own `python -m lac_validator` needs pytest and hard-codes
file names and the collection year, hence this driver.

Output: {"ruleset", "rules", "ran", "skipped": [codes], "crashed": [codes], "hits": [{"code", "message",
"table", "row", "child", "values": {column: value}}]}. Exit status 0 whenever the rules ran (hits or not); 2 when they could not.
"""

import argparse
import importlib
import io
import json
import logging
import sys
from contextlib import redirect_stdout
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--year", required=True, type=int, help="year the collection ends in, e.g. 2025")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--prev", type=Path, default=None)
    parser.add_argument("--la", default="E08000026", help="the authority's ONS code (postcode rules)")
    args = parser.parse_args()

    logging.disable(logging.CRITICAL)
    # The package logs and prints freely; keep stdout for the JSON.
    with redirect_stdout(io.StringIO()):
        import pandas as pd
        from lac_validator import lac_validator
        from lac_validator.types import UploadedFile

        ruleset = f"lac{args.year - 1}_{str(args.year)[2:]}"
        registry = importlib.import_module(f"lac_validator.rules.{ruleset}").registry

        files = []
        for description, folder in (("This year", args.dir), ("Prev year", args.prev)):
            if folder is None:
                continue
            for path in sorted(folder.glob("*.csv")):
                files.append(
                    UploadedFile(name=path.name, description=description, file_content=path.read_bytes())
                )
        if not files:
            print(f"no CSV files in {args.dir}", file=sys.stderr)
            return 2

        metadata = {"collectionYear": str(args.year), "localAuthority": args.la}
        v = lac_validator.LacValidator(metadata=metadata, files=files, registry=registry)

    def text(value):
        # Empty cells come back as NaN, None, NaT or pandas.NA depending on the column's dtype; NA and NaT
        # have no truth value (`NA != NA` is NA, and `if NA` raises), so ask pandas which values are missing.
        return None if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)

    hits = []
    for table, df in v.ds_results.items():
        if table == "metadata":
            continue
        for col in [c for c in df.columns if str(c).startswith("ERR_")]:
            code = col[4:]
            flagged = df[df[col] == True]  # noqa: E712 (pandas mask)
            for row, record in flagged.iterrows():
                hits.append(
                    {
                        "code": code,
                        "message": registry[code].message if code in registry else None,
                        "table": table,
                        "row": int(row),
                        "child": text(record.get("CHILD")),
                        "values": {
                            str(k): text(v)
                            for k, v in record.items()
                            if not str(k).startswith(("ERR_", "_"))
                        },
                    }
                )
    hits.sort(key=lambda h: (h["code"], h["table"], h["row"]))
    out = {
        "ruleset": ruleset,
        "rules": len(registry),
        "ran": len(v.dones),
        "skipped": sorted(v.skips),
        "crashed": sorted(v.fails),
        "hits": hits,
    }
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
