"""End-to-end: 1,000 concurrent clients on loopback, and the memory each idle one costs.

Counts and memory only -- no timing asserts (timing figures belong to benchmarks)."""
import pytest

import mqtt_wire as wire
from broker_scale import connect_fleet, measure_idle_connection_memory, raise_fd_limit
from broker_support import TARGET, broker, clients, embedded_only, start_broker  # noqa: F401 (fixtures)
from conftest import built_with_asan

CLIENTS = 1000


@pytest.fixture(autouse=True)
def enough_file_descriptors():
    raise_fd_limit(CLIENTS * 2 + 200)  # the broker, started after this, inherits it


@pytest.mark.parametrize("version", [wire.V311, wire.V5])
def test_thousand_concurrent_clients_connect_and_fan_in_without_loss(broker, clients, version):
    """1,000 concurrent clients: 999 CONNECT at once and each PUBLISHes one QoS 1 message
    (PUBACK checked, MQTT-4.3.2-4); the subscriber of `fanin/#` receives all 999."""
    sub = clients(broker, version="5" if version == wire.V5 else "3.1.1")
    sub.connect()
    assert sub.subscribe("fanin/#", 1) == 1
    # 999 publishers + the subscriber = 1,000 concurrent clients (the default max_connections).
    fleet = connect_fleet(*broker, CLIENTS - 1, version=version, prefix=f"fan{version}")
    try:
        fleet.send_each(lambda i: wire.publish(f"fanin/{i}", f"p{i}".encode(), qos=1, packet_id=1, version=version))
        acks = fleet.read_one_packet_each()
        assert all(p.type == wire.PUBACK and p.body[:2] == b"\x00\x01" for p in acks)
        got = sub.wait_messages(CLIENTS - 1, timeout=120)
        assert {m.payload for m in got} == {f"p{i}".encode() for i in range(CLIENTS - 1)}
    finally:
        fleet.close()


@embedded_only
def test_idle_connection_costs_under_10_kib_of_broker_memory(start_broker, harness, record_property, capsys):
    """RSS(1,000 idle CONNECTed clients) - RSS(none), divided by 1,000: below 10 KiB."""
    if built_with_asan(harness):
        pytest.skip("under ASan the RSS per connection counts its redzones, shadow and quarantine, not the broker's")
    host, port, proc = start_broker()
    figure = measure_idle_connection_memory(proc.pid, host, port, CLIENTS)
    record_property("bytes_per_idle_connection", round(figure["bytes_per_connection"]))
    with capsys.disabled():
        print(f"\n[broker memory] {figure}")
    assert figure["bytes_per_connection"] < 10 * 1024, figure
