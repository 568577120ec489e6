"""The mutation score and the surviving mutants of the last `make mutation` run.

Score = killed / (killed + survived): mutants no test reached ("no tests") are listed apart,
since they say where tests are missing rather than where tests are weak.
"""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

STATS = Path("mutants/mutmut-cicd-stats.json")


def main() -> int:
    if not STATS.exists():
        print("no mutation run found: run `make mutation` first", file=sys.stderr)
        return 1
    stats = json.loads(STATS.read_text())
    killed, survived = stats.get("killed", 0), stats.get("survived", 0)
    tried = killed + survived
    print(
        f"mutants: {stats.get('total', tried)}  " + "  ".join(f"{k}: {v}" for k, v in stats.items())
    )
    if tried:
        print(f"mutation score: {killed / tried:.1%} ({killed} of {tried} mutants killed)")
    results = subprocess.run(
        [str(Path(sys.executable).parent / "mutmut"), "results"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    survivors = [line.split(":")[0].strip() for line in results.splitlines() if "survived" in line]
    per_function = Counter(name.rsplit("__mutmut_", 1)[0] for name in survivors)
    print(f"\nsurvivors by function ({len(survivors)}; `.venv/bin/mutmut show NAME` for each):")
    for function, count in per_function.most_common():
        print(f"  {count:4d}  {function}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
