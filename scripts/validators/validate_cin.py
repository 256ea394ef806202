#!/usr/bin/env python3
"""Runs the DfE Children in Need census validation rules (`csc-validator-be-cin`, module `cin_validator`) over
one CIN census XML file and prints one JSON object with every rule hit.

    python scripts/validators/validate_cin.py --year 2025 --file out/cin-2024-25.xml

`--year` is the year the collection ends in (2025 for 2024/25); the ruleset is that year's (`cin2024_25`).
The package's own `python -m cin_validator run` prints a DataFrame for people; this driver gives tests JSON.

Output: {"ruleset", "rules", "hits": [{"code", "message", "type", "child", "tables", "columns"}],
"la_level": [{"code", "message"}]}. Exit status 0 whenever the rules ran (hits or not); 2 when they could not.
"""

import argparse
import importlib
import io
import json
import logging
import sys
import warnings
import xml.etree.ElementTree as ET
from contextlib import redirect_stdout
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--year", required=True, type=int, help="year the collection ends in, e.g. 2025")
    parser.add_argument("--file", required=True, type=Path)
    args = parser.parse_args()

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    ruleset = f"cin{args.year - 1}_{str(args.year)[2:]}"
    # The package prints freely; keep stdout for the JSON.
    with redirect_stdout(io.StringIO()):
        import pandas as pd
        from cin_validator import cin_validator

        try:
            registry = importlib.import_module(f"cin_validator.rules.{ruleset}").registry
        except ModuleNotFoundError:
            print(f"no ruleset {ruleset} in this csc-validator-be-cin", file=sys.stderr)
            return 2
        root = ET.parse(args.file).getroot()
        data = cin_validator.process_data(cin_validator.convert_data(root))
        v = cin_validator.CinValidator(data, registry)

    def text(value):
        # Missing values are NaN, None, NaT or pandas.NA by dtype; NA and NaT have no truth value.
        return None if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)

    hits = []
    for _, row in v.full_issue_df.iterrows():
        code = str(row.get("rule_code"))
        rule = registry.get(code)
        hits.append(
            {
                "code": code,
                "message": text(row.get("rule_description")),
                "type": rule.rule_type.value if rule is not None else text(row.get("rule_type")),
                "child": text(row.get("child_id")),
                "tables": text(row.get("tables_affected")),
                "columns": text(row.get("columns_affected")),
            }
        )
    la_level = [
        {"code": str(r["rule_code"]), "message": text(r["rule_description"])}
        for _, r in v.multichild_issues.iterrows()
    ]
    hits.sort(key=lambda h: (h["code"], h["child"] or ""))
    json.dump({"ruleset": ruleset, "rules": len(registry), "hits": hits, "la_level": la_level}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
