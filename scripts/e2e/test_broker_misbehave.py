"""End-to-end: `mqtt-harness broker --misbehave MODE` breaks the broker on purpose, so the
harness's own tests can prove the QoS ledger catches broken brokers. Each mode must be
observable by an ordinary client. Semantics (engine BrokerConfig): every N-th candidate
delivery (counted per broker, from 1; N = --misbehave-every) is affected:
  drop-qos1 / drop-qos0: that delivery is not sent;
  dup-qos2: it is sent twice, as two new messages;
  reorder: it is held back and sent after the next delivery on the same topic (that
           release is not itself a candidate).
"""
import pytest

from broker_support import clients, embedded_only, start_broker  # noqa: F401 (fixtures)

pytestmark = embedded_only

EVERY = 5
COUNT = 18  # affected: deliveries 5, 10, 15; each has a next one before the marker
END = b"END"


def run_one_topic(start_broker, clients, mode, qos):
    host, port, _ = start_broker("--misbehave", mode, "--misbehave-every", str(EVERY))
    sub = clients((host, port), version="5")
    sub.connect()
    sub.subscribe("mis/t", qos)
    pub = clients((host, port), version="5")
    pub.connect()
    sent = [f"m{i}".encode() for i in range(COUNT)]
    pub.publish_many("mis/t", sent, qos)
    # The marker is delivery 19, not a multiple of EVERY: never affected itself.
    pub.publish("mis/t", END, qos)
    return sent, [m.payload for m in sub.until_marker(END, timeout=20)]


def affected(sent):
    """The deliveries the mode hits: the EVERY-th, 2*EVERY-th ... (1-based)."""
    return [p for i, p in enumerate(sent, start=1) if i % EVERY == 0]


@pytest.mark.parametrize("mode, qos", [("drop-qos1", 1), ("drop-qos0", 0)])
def test_drop_modes_lose_every_nth_delivery(start_broker, clients, mode, qos):
    sent, got = run_one_topic(start_broker, clients, mode, qos)
    assert got == [p for p in sent if p not in affected(sent)]


def test_dup_qos2_delivers_every_nth_message_twice(start_broker, clients):
    sent, got = run_one_topic(start_broker, clients, "dup-qos2", 2)
    assert sorted(got) == sorted(sent + affected(sent))
    for p in affected(sent):
        assert got.count(p) == 2


def test_reorder_swaps_held_deliveries_with_the_next_one(start_broker, clients):
    """Held-back deliveries show up as adjacent swaps. Which deliveries are held depends
    on how the engine counts candidates (a release is not one), so the test checks the
    shape -- only adjacent swaps, nothing lost or added -- and that it happened."""
    sent, got = run_one_topic(start_broker, clients, "reorder", 1)
    assert sorted(got) == sorted(sent), "reorder must not lose or add messages"
    swaps, i = 0, 0
    while i < len(sent):
        if got[i] == sent[i]:
            i += 1
            continue
        assert got[i:i + 2] == [sent[i + 1], sent[i]], f"not an adjacent swap at {i}: {got}"
        swaps += 1
        i += 2
    assert swaps >= 2, f"expected every ~{EVERY}th delivery swapped, got {got}"


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_without_misbehave_the_same_run_is_exact(start_broker, clients, qos):
    sent, got = run_one_topic(start_broker, clients, "none", qos)
    assert got == sent
