"""When the relay may publish rows handed over by a commit without reading the table (outbox.py)."""

from __future__ import annotations

from services.chassis.bus import OutMessage
from services.chassis.outbox import Handover, as_message


def handed(unsent_seen: tuple[int, ...], *, complete: bool = True, read_committed: bool = True) -> Handover:
    return Handover(ids=(10,), messages=(OutMessage("t", b"k", b"v"),), unsent_seen=unsent_seen,
                    unsent_complete=complete, read_committed=read_committed)


def test_rows_whose_insert_saw_nothing_unsent_go_at_once() -> None:
    assert handed(()).may_go_before_a_read(set())


def test_rows_wait_for_an_earlier_unsent_row_this_relay_has_not_published() -> None:
    assert not handed((7, 9)).may_go_before_a_read({7})
    assert handed((7, 9)).may_go_before_a_read({7, 9})


def test_a_cut_off_list_of_unsent_rows_means_a_backlog_and_a_read() -> None:
    assert not handed((7,), complete=False).may_go_before_a_read({7})


def test_outside_read_committed_the_insert_may_not_have_seen_every_earlier_commit() -> None:
    assert not handed((), read_committed=False).may_go_before_a_read(set())


def test_an_outbox_row_becomes_the_message_the_relay_publishes() -> None:
    row = {"topic": "goumai.catalogue", "key": "A-01", "payload": '{"a":"元"}',
           "headers": '[["ce_id", "e1"], ["ce_type", "catalogue.item.withdrawn"]]'}
    m = as_message(row)
    assert (m.topic, m.key, m.value) == ("goumai.catalogue", b"A-01", '{"a":"元"}'.encode())
    assert m.headers == (("ce_id", b"e1"), ("ce_type", b"catalogue.item.withdrawn"))
    assert as_message({**row, "headers": [["ce_id", "e1"]]}).headers == (("ce_id", b"e1"),)
