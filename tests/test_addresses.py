"""The client addresses rate-limit and sign-in tests count under (tests/addresses.py): runs that
share one Redis within a window never share a counter."""

from pathlib import Path

from service.ratelimit import client_bucket
from tests.addresses import Readers

TESTS = Path(__file__).resolve().parent


def test_runs_never_share_a_counter() -> None:
    runs = [Readers() for _ in range(1000)]
    for group, i in ((0, 0), (5, 1), (255, 255)):
        assert len({client_bucket(run.address(group, i)) for run in runs}) == len(runs)


def test_each_reader_of_a_run_has_a_counter_of_its_own() -> None:
    readers = Readers()
    pairs = [(group, i) for group in range(0, 256, 5) for i in range(0, 256, 7)]
    assert len({client_bucket(readers.address(g, i)) for g, i in pairs}) == len(pairs)


def test_addresses_in_a_readers_network_share_its_counter() -> None:
    readers = Readers()
    network = readers.network(7, 0)
    same = {client_bucket(f"{network}::{host:x}") for host in (1, 0xBEEF, 0xFFFF)}
    assert same == {client_bucket(readers.address(7, 0))}
    assert client_bucket(readers.address(7, 1)) not in same


def test_tests_that_send_a_client_address_take_it_from_readers() -> None:
    """A fixed address, or one drawn from a few hundred values, meets another run's counter
    (issue 15 item 26): a 429 that belongs to someone else's run."""
    sending = [
        path
        for path in TESTS.rglob("test_*.py")
        if path != Path(__file__) and '"X-Forwarded-For":' in path.read_text(encoding="utf-8")
    ]
    assert sending, "the check found no test to look at"
    for path in sending:
        text = path.read_text(encoding="utf-8")
        assert "Readers()" in text and "randrange" not in text, path.relative_to(TESTS)
