"""Client addresses for tests whose counters outlive them in the shared Redis (rate limits, the
sign-in throttle): a window of a minute or fifteen, and other runs (developers, helpers, CI)
counting in the same Redis meanwhile.

Each test module draws its own 128 random bits per run (a uuid4), so no two runs, and no two
modules of one run, ever share a counter. A random octet per run (1 in 249) collided often
enough to fail a run now and then with a 429 that belonged to another run.
"""

import uuid
from dataclasses import dataclass, field


def _run_bits() -> int:
    return uuid.uuid4().int


@dataclass(frozen=True)
class Readers:
    """One module's readers in one run: reader i of a test's group, each in a /64 of its own
    (IPv6 clients are counted by their /64), 40 of the run's bits in the /64 and the other 64
    after it."""

    run: int = field(default_factory=_run_bits)

    def network(self, group: int, i: int) -> str:
        """The reader's /64 as its first four hextets; `f"{network}::1"` is an address in it."""
        assert 0 <= group < 256 and 0 <= i < 256
        high, middle = self.run >> 120 & 0xFF, self.run >> 88 & 0xFFFFFFFF
        return f"fd{high:02x}:{middle >> 16:x}:{middle & 0xFFFF:x}:{group << 8 | i:x}"

    def address(self, group: int, i: int) -> str:
        low = self.run & 0xFFFFFFFFFFFFFFFF
        host = ":".join(f"{low >> shift & 0xFFFF:x}" for shift in (48, 32, 16, 0))
        return f"{self.network(group, i)}:{host}"
