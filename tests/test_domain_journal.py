"""The journal keeps a request's fields as noted and makes the entry when it is read."""

from __future__ import annotations

from datetime import UTC, datetime

from asm_mock.domain.journal import Journal, JournalEntry


def test_a_noted_request_reads_back_as_its_entry_with_its_operation_named() -> None:
    journal = Journal(operation_of=lambda method, path: f"{method} {path}")
    at = datetime(2026, 11, 28, 12, 30, 5, 250000, tzinfo=UTC)
    query = "q=J%C3%BC&x=\xe9".encode("latin-1")
    journal.note((at.timestamp(), "GET", "/p", query, 404, 1.5, ("gone",)))
    assert journal.entries() == [
        JournalEntry(at, "GET", "/p", "q=J%C3%BC&x=\xe9", "GET /p", 404, 1.5, ("gone",))
    ]
    assert journal.total == 1


def test_noted_and_recorded_requests_share_one_ring_newest_first() -> None:
    journal = Journal(capacity=2)
    now = datetime.now(UTC)
    journal.record(JournalEntry(now, "GET", "/a", "", None, 200, 1.0))
    journal.note((now.timestamp(), "GET", "/b", b"", 200, 1.0, ()))
    journal.record(JournalEntry(now, "GET", "/c", "", None, 200, 1.0))
    assert [e.path for e in journal.entries()] == ["/c", "/b"]
    assert journal.total == 3
    assert [e.path for e in journal.entries(path="/b")] == ["/b"]


def test_a_limited_read_makes_only_the_entries_it_returns() -> None:
    named: list[str] = []
    journal = Journal(operation_of=lambda method, path: named.append(path) or "op")
    for n in range(5):
        journal.note((0.0, "GET", f"/p/{n}", b"", 200, 1.0, ()))
    assert [e.path for e in journal.entries(limit=2)] == ["/p/4", "/p/3"]
    assert named == ["/p/4", "/p/3"]
    assert journal.entries(limit=0) == []
