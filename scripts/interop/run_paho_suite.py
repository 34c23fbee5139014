"""Runs one test file of eclipse/paho.mqtt.testing's interoperability suite against a broker.

usage: run_paho_suite.py INTEROP_DIR MODULE HOST PORT [unittest arguments...]
  INTEROP_DIR  the suite's interoperability/ folder (holds client_test.py, client_test5.py
               and the mqtt/ client package they import)
  MODULE       client_test (MQTT 3.1.1) or client_test5 (MQTT 5.0)

The test files read their broker address and topic names from module globals that only
their own `__main__` block sets; this imports the file as a module, sets the same
globals (the values that block would set), and runs its unittest suite. Exit status 0
when every test passed, 1 otherwise. Only the standard library is needed.
"""
import importlib
import logging
import sys
import unittest

# What the files' `__main__` blocks set. client_test5's setUpClass resets topics and
# wildtopics to these unprefixed names itself; its prefix is used for the shared
# subscription test only.
TOPICS = ("TopicA", "TopicA/B", "Topic/C", "TopicA/C", "/TopicA")
WILD_TOPICS = ("TopicA/+", "+/C", "#", "/#", "/+", "+/+", "TopicA/#")
NO_SUBSCRIBE_TOPICS = ("test/nosubscribe",)


def main(argv):
    if len(argv) < 5 or argv[2] not in ("client_test", "client_test5"):
        print(__doc__, file=sys.stderr)
        return 2
    interop_dir, module_name, host, port = argv[1], argv[2], argv[3], int(argv[4])
    sys.path.insert(0, interop_dir)
    suite_module = importlib.import_module(module_name)
    suite_module.host = host
    suite_module.port = port
    suite_module.topics = TOPICS
    suite_module.wildtopics = WILD_TOPICS
    suite_module.nosubscribe_topics = NO_SUBSCRIBE_TOPICS
    suite_module.topic_prefix = module_name + "/"
    logging.getLogger().setLevel(logging.ERROR)  # as the files' own __main__ does
    program = unittest.main(module=suite_module, argv=[module_name] + argv[5:], exit=False, verbosity=2)
    result = program.result
    print(f"{module_name}: {result.testsRun} run, {len(result.failures)} failed, "
          f"{len(result.errors)} errors, {len(result.skipped)} skipped", flush=True)
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
