"""checkov's JSON report → one line: `checkov: P passed, F failed | resource: CHECK,CHECK; …`.

With the rendered files checkov read named after the report, one line for each of them, in that
order: `checkov: F failed | …` (with --compact, checkov counts what passed only over all files).
Exit 1 when the report is not checkov's JSON (checkov did not run).
"""

import json
import os
import sys
from collections import defaultdict


def check_order(check):
    prefix, _, number = check.rpartition("_")
    return (prefix, int(number) if number.isdigit() else 0)


def line(failed, passed=None):
    count = sum(len(ids) for ids in failed.values())
    per_resource = "; ".join(f"{res}: {','.join(sorted(ids, key=check_order))}" for res, ids in sorted(failed.items()))
    counts = f"{count} failed" if passed is None else f"{passed} passed, {count} failed"
    return f"checkov: {counts}" + (f" | {per_resource}" if per_resource else "")


def main():
    try:
        with open(sys.argv[1]) as f:
            data = json.load(f)
    except (OSError, ValueError):
        sys.exit(1)
    reports = data if isinstance(data, list) else [data]
    files = [os.path.basename(f) for f in sys.argv[2:]]
    passed = 0
    failed = defaultdict(set)
    per_file = {f: defaultdict(set) for f in files}
    for report in reports:
        passed += report.get("summary", {}).get("passed", 0)
        for check in report.get("results", {}).get("failed_checks", []):
            failed[check["resource"]].add(check["check_id"])
            name = os.path.basename(check.get("file_path", ""))
            if name in per_file:
                per_file[name][check["resource"]].add(check["check_id"])
    if not files:
        print(line(failed, passed))
    for f in files:
        print(line(per_file[f]))


if __name__ == "__main__":
    main()
