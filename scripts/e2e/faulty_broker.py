#!/usr/bin/python3
"""A broker process with planted faults, for scripts/e2e/test_run_spawn.py (`run --spawn`).

    faulty_broker.py PORT [--crash-on TOPIC] [--crash-on-close-after TOPIC] [--leak-on TOPIC]
                          [--stall-on TOPIC] [--ubsan-on TOPIC] [--grow-on TOPIC]

It is fake_brokers.LaxBroker (answers every request, forwards nothing) on 127.0.0.1:PORT. A
PUBLISH to a TOPIC named by an option sets off that fault, printed the way a broker built
with sanitizers prints it:
  --crash-on              an AddressSanitizer heap-use-after-free report, then abort()
  --crash-on-close-after  a glibc assertion message and abort() when that connection closes
                          (after the scenario's last step); a connection accepted while it
                          is open is served only after it closed (and the process aborted)
  --leak-on               a LeakSanitizer report when it exits after SIGTERM (exit 23)
  --stall-on              every connection stops being served, new ones get no CONNACK
  --ubsan-on              a recoverable UndefinedBehaviorSanitizer line; it carries on
  --grow-on               32 MiB more resident memory that is kept (RSS growth)
Without a fault set off it exits 0 on SIGTERM.
"""
import argparse
import ctypes
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_brokers import LaxBroker  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("port", type=int)
for flag in ("--crash-on", "--crash-on-close-after", "--leak-on", "--stall-on", "--ubsan-on", "--grow-on"):
    parser.add_argument(flag, default=None)
args = parser.parse_args()

PID = os.getpid()
leaked = threading.Event()
stalled = threading.Event()
kept = []  # --grow-on's memory


def say(text):
    sys.stderr.write(text)
    sys.stderr.flush()


def on_sigterm(*_):
    if leaked.is_set():
        say(f"\n=================================================================\n"
            f"=={PID}==ERROR: LeakSanitizer: detected memory leaks\n\n"
            f"Direct leak of 64 byte(s) in 1 object(s) allocated from:\n"
            f"    #0 0x7f0000000001 in malloc\n"
            f"    #1 0x400001 in retain_store faulty_broker.c:42\n\n"
            f"SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s).\n")
        os._exit(23)
    os._exit(0)


class FaultyBroker(LaxBroker):
    def __init__(self, port):
        self.topics_of = {}  # connection -> topics it published
        self.armed = set()   # open connections that published --crash-on-close-after's topic
        super().__init__(port)

    def serve(self, conn):
        if stalled.is_set():
            time.sleep(3600)
        # The crash on close comes before anything newer is answered, as in a broker that
        # handles its events in order; threads alone would leave it to the scheduler whether
        # `run --spawn`'s liveness probe after the scenario is answered first.
        deadline = time.monotonic() + 10
        while self.armed and time.monotonic() < deadline:
            time.sleep(0.01)
        super().serve(conn)

    def published(self, conn, topic):
        self.topics_of.setdefault(conn, set()).add(topic)
        if topic == args.crash_on:
            say(f"=================================================================\n"
                f"=={PID}==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010 at pc 0x1 bp 0x2 sp 0x3\n"
                f"READ of size 8 at 0x602000000010 thread T0\n"
                f"    #0 0x400100 in route_publish faulty_broker.c:120\n"
                f"    #1 0x400200 in handle_publish faulty_broker.c:88\n\n"
                f"SUMMARY: AddressSanitizer: heap-use-after-free faulty_broker.c:120 in route_publish\n")
            os.abort()
        if topic == args.crash_on_close_after:
            self.armed.add(conn)
        if topic == args.leak_on:
            leaked.set()
        if topic == args.stall_on:
            stalled.set()
            time.sleep(3600)
        if topic == args.grow_on:
            kept.append(b"x" * (32 << 20))  # written, so resident
        if topic == args.ubsan_on:
            say("faulty_broker.c:77:12: runtime error: left shift of 1 by 31 places cannot be represented in type 'int'\n")

    def closed(self, conn):
        if args.crash_on_close_after in self.topics_of.pop(conn, ()):
            say("faulty_broker: faulty_broker.c:300: session_free: Assertion `session->refs == 0' failed.\n")
            os.abort()


signal.signal(signal.SIGTERM, on_sigterm)
# Dies with the `mqtt-harness run` that started it, should a test kill that one.
ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
broker = FaultyBroker(args.port)
print(f"listening on 127.0.0.1:{broker.port}", flush=True)
while True:
    time.sleep(1)
