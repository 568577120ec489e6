"""``python -m bench [--quick] [--profile]``: run the end-to-end benchmark, print the table and
write the figures and raw results to bench-results/ (git-ignored)."""

import argparse
import json
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bench.report import figures, table
from bench.run import PLANS, execute, log
from bench.stack import ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~2-minute smoke run")
    parser.add_argument("--plan", choices=sorted(PLANS), help="full, quick or tiny")
    parser.add_argument(
        "--profile", action="store_true", help="sample the API and a worker with py-spy"
    )
    parser.add_argument(
        "--scales", type=int, nargs="+", help="only these API+worker counts, e.g. --scales 2"
    )
    parser.add_argument("--redis-db", type=int, default=12, help="Redis DB for this run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args(argv)
    plan = PLANS[args.plan or ("quick" if args.quick else "full")]
    if args.scales:
        plan = replace(plan, scales=args.scales)

    log(f"plan {plan.name}; results go to {args.out}")
    results = execute(
        plan, out_dir=args.out, profile_processes=args.profile, redis_db=args.redis_db
    )
    items = figures(results)
    results["figures"] = [item.as_dict() for item in items]
    path = args.out / f"e2e-{plan.name}-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(items))
    for name, summary in results.get("profiles", {}).items():
        print(f"\nprofile {name}: {summary['samples']} samples; by package of the running frame:")
        for row in summary["packages"][:10]:
            print(f"  {row['share']:6.1%}  {row['function']}")
        print("  our functions, inclusive:")
        for row in summary["ours_inclusive"][:12]:
            print(f"  {row['share']:6.1%}  {row['function']}")
    print(f"\n{plan.name} run took {results['seconds']:.0f} s; results: {path}")
    failed = [item.name for item in items if item.passed is False]
    if failed:
        print("targets missed: " + "; ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
