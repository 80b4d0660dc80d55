"""checkov's JSON report → one line: `checkov: P passed, F failed | resource: CHECK,CHECK; …`.

Exit 1 when the report is not checkov's JSON (checkov did not run).
"""

import json
import sys
from collections import defaultdict


def check_order(check):
    prefix, _, number = check.rpartition("_")
    return (prefix, int(number) if number.isdigit() else 0)


def main():
    try:
        with open(sys.argv[1]) as f:
            data = json.load(f)
    except (OSError, ValueError):
        sys.exit(1)
    reports = data if isinstance(data, list) else [data]
    passed = 0
    failed = defaultdict(set)
    for report in reports:
        passed += report.get("summary", {}).get("passed", 0)
        for check in report.get("results", {}).get("failed_checks", []):
            failed[check["resource"]].add(check["check_id"])
    count = sum(len(ids) for ids in failed.values())
    per_resource = "; ".join(f"{res}: {','.join(sorted(ids, key=check_order))}" for res, ids in sorted(failed.items()))
    print(f"checkov: {passed} passed, {count} failed" + (f" | {per_resource}" if per_resource else ""))


if __name__ == "__main__":
    main()
