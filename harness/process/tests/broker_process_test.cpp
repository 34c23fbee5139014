// BrokerProcess against small Python stand-ins for a broker (listen, then crash, exit or
// idle), on free 127.0.0.1 ports; every wait is bounded. And the `listening on` line.
#include "mqtth/process/BrokerProcess.hpp"
#include "mqtth/process/TcpConnect.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using mqtth::process::BrokerProcess;

namespace {

std::uint16_t free_port() { return mqtth::process::free_loopback_port(); }

// A stand-in broker: prints `hello`, listens on `port` after `delay` seconds, and on its
// first connection runs `then` (Python), e.g. "os.abort()" or "sys.exit(3)".
std::vector<std::string> stand_in(std::uint16_t port, const std::string& then = "time.sleep(60)", double delay = 0) {
  const std::string script =
      "import os, socket, sys, time\n"
      "print('hello', flush=True)\n"
      "time.sleep(" + std::to_string(delay) + ")\n"
      "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      "s.bind(('127.0.0.1', " + std::to_string(port) + ")); s.listen(8)\n"
      "c, _ = s.accept()\n" + then + "\n";
  return {"/usr/bin/python3", "-c", script};
}

}  // namespace

TEST(BrokerProcess, start_waits_until_the_port_accepts_and_stop_kills_it) {
  const auto port = free_port();
  BrokerProcess broker(stand_in(port, "time.sleep(60)", 0.3));
  ASSERT_TRUE(broker.managed());
  ASSERT_TRUE(broker.start("127.0.0.1", port, 10s)) << broker.output();
  EXPECT_EQ(broker.starts(), 1);
  EXPECT_FALSE(broker.exited());
  broker.stop();
  const auto address = mqtth::process::resolve_tcp("127.0.0.1", port);
  ASSERT_TRUE(address);
  EXPECT_EQ(mqtth::process::connect_tcp(*address, 500), -1) << "still accepting after stop()";
}

// A port another process listens on: starting there would test that process instead.
TEST(BrokerProcess, a_port_another_process_listens_on_is_refused_before_starting_anything) {
  const int other = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(other, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(other, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  ASSERT_EQ(::listen(other, 8), 0);
  socklen_t len = sizeof at;
  ASSERT_EQ(::getsockname(other, reinterpret_cast<sockaddr*>(&at), &len), 0);
  const auto port = ntohs(at.sin_port);

  BrokerProcess broker(stand_in(port));
  EXPECT_FALSE(broker.start("127.0.0.1", port, 5s));
  EXPECT_TRUE(broker.port_taken());
  EXPECT_EQ(broker.starts(), 0) << "nothing was started";
  ::close(other);

  // Once the port is free again, the same object starts the broker.
  EXPECT_TRUE(broker.start("127.0.0.1", port, 10s)) << broker.output();
  EXPECT_FALSE(broker.port_taken());
  broker.stop();
}

TEST(BrokerProcess, a_crash_is_an_exit_with_its_signal_and_keeps_the_output) {
  const auto port = free_port();
  BrokerProcess broker(stand_in(port, "os.abort()"));
  broker.start("127.0.0.1", port, 10s);  // its readiness connection is what makes it abort
  ASSERT_TRUE(broker.exited_within(5000));
  EXPECT_EQ(broker.exit_description(), "signal SIGABRT");
  EXPECT_NE(broker.output().find("hello"), std::string::npos) << broker.output();
}

TEST(BrokerProcess, an_exit_status_is_reported) {
  const auto port = free_port();
  BrokerProcess broker(stand_in(port, "sys.exit(3)"));
  broker.start("127.0.0.1", port, 10s);
  ASSERT_TRUE(broker.exited_within(5000));
  EXPECT_EQ(broker.exit_description(), "exit 3");
}

TEST(BrokerProcess, a_command_that_cannot_run_fails_the_start_saying_why) {
  BrokerProcess broker({"/nonexistent/broker", "--listen", "127.0.0.1:1"});
  EXPECT_FALSE(broker.start("127.0.0.1", free_port(), 5s));
  EXPECT_EQ(broker.exit_description(), "exit 127");
  EXPECT_NE(broker.output().find("exec /nonexistent/broker: No such file or directory"), std::string::npos)
      << broker.output();
}

TEST(BrokerProcess, drain_returns_only_what_is_new) {
  const auto port = free_port();
  BrokerProcess broker(stand_in(port));
  ASSERT_TRUE(broker.start("127.0.0.1", port, 10s));
  std::string seen;
  for (int i = 0; i < 100 && seen.find("hello") == std::string::npos; ++i) {
    seen += broker.drain();
    ::usleep(10000);
  }
  EXPECT_EQ(seen, "hello\n");
  EXPECT_EQ(broker.drain(), "");
  EXPECT_EQ(broker.output(), "hello\n");
}

TEST(BrokerProcess, port_placeholders_in_the_command_become_the_port) {
  const auto port = free_port();
  BrokerProcess broker({"/usr/bin/python3", "-c",
                        "import socket, sys, time\n"
                        "print('args', sys.argv[1:], flush=True)\n"
                        "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(8); time.sleep(60)\n",
                        "{port}", "--listen=127.0.0.1:{port}"});
  ASSERT_TRUE(broker.start("127.0.0.1", port, 10s)) << broker.output();
  broker.stop();
  const auto p = std::to_string(port);
  EXPECT_NE(broker.output().find("args ['" + p + "', '--listen=127.0.0.1:" + p + "']"), std::string::npos)
      << broker.output();
}

// LeakSanitizer prints its report while the process exits after SIGTERM: stop() must wait
// for it, not kill at once.
TEST(BrokerProcess, stop_sends_SIGTERM_and_keeps_what_the_broker_prints_as_it_exits) {
  const auto port = free_port();
  const std::string on_term =
      "import signal\n"
      "def bye(*_):\n"
      "    time.sleep(0.3)\n"
      "    print('==1==ERROR: LeakSanitizer: detected memory leaks', flush=True)\n"
      "    sys.exit(23)\n"
      "signal.signal(signal.SIGTERM, bye)\n";
  BrokerProcess leaky({"/usr/bin/python3", "-c", on_term + stand_in(port)[2]});
  ASSERT_TRUE(leaky.start("127.0.0.1", port, 10s)) << leaky.output();
  const auto how = leaky.stop(5s);
  EXPECT_TRUE(how.was_running);
  EXPECT_FALSE(how.killed);
  EXPECT_EQ(leaky.exit_description(), "exit 23");
  EXPECT_NE(leaky.output().find("LeakSanitizer: detected memory leaks"), std::string::npos) << leaky.output();
}

TEST(BrokerProcess, stop_kills_a_broker_that_ignores_SIGTERM_after_the_grace) {
  const auto port = free_port();
  BrokerProcess broker({"/usr/bin/python3", "-c",
                        "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + stand_in(port)[2]});
  ASSERT_TRUE(broker.start("127.0.0.1", port, 10s)) << broker.output();
  const auto t0 = std::chrono::steady_clock::now();
  const auto how = broker.stop(500ms);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(how.was_running);
  EXPECT_TRUE(how.killed);
  EXPECT_EQ(broker.exit_description(), "signal SIGKILL");
  EXPECT_GE(took, 500ms);
  EXPECT_LT(took, 5s);
}

TEST(BrokerProcess, stop_after_a_crash_reports_the_crash_not_a_stop) {
  const auto port = free_port();
  BrokerProcess broker(stand_in(port, "os.abort()"));
  broker.start("127.0.0.1", port, 10s);
  ASSERT_TRUE(broker.exited_within(5000));
  const auto how = broker.stop(1s);
  EXPECT_FALSE(how.was_running);
  EXPECT_FALSE(how.killed);
  EXPECT_EQ(broker.exit_description(), "signal SIGABRT");
}

// How suppression files reach a sanitizer runtime: the command's environment, with a
// variable of the same name replaced and the rest inherited.
TEST(BrokerProcess, set_environment_adds_and_replaces_variables_for_the_command) {
  const auto port = free_port();
  ::setenv("MQTTH_TEST_KEPT", "inherited", 1);
  ::setenv("MQTTH_TEST_REPLACED", "old", 1);
  BrokerProcess broker(stand_in(port, "print(os.environ.get('MQTTH_TEST_KEPT'), os.environ.get('MQTTH_TEST_REPLACED'), "
                                      "os.environ.get('MQTTH_TEST_NEW'), flush=True); time.sleep(60)"));
  broker.set_environment({"MQTTH_TEST_REPLACED=new", "MQTTH_TEST_NEW=added"});
  ASSERT_TRUE(broker.start("127.0.0.1", port, 10s)) << broker.output();
  std::string out;
  for (int i = 0; i < 200 && out.find("added") == std::string::npos; ++i, ::usleep(10000)) out += broker.drain();
  EXPECT_NE(out.find("inherited new added"), std::string::npos) << out;
  broker.kill();
  ::unsetenv("MQTTH_TEST_KEPT");
  ::unsetenv("MQTTH_TEST_REPLACED");
}

TEST(BrokerProcess, a_broker_someone_else_runs_is_left_alone) {
  BrokerProcess broker({});
  EXPECT_FALSE(broker.managed());
  EXPECT_TRUE(broker.start("127.0.0.1", 1));
  EXPECT_FALSE(broker.exited());
  EXPECT_EQ(broker.starts(), 0);
}

TEST(ListeningLine, is_written_and_read_with_the_one_host_port_grammar) {
  using mqtth::common::HostPort;
  using mqtth::process::listening_line;
  using mqtth::process::parse_listening_line;
  EXPECT_EQ(listening_line("127.0.0.1", 1883), "listening on 127.0.0.1:1883");
  EXPECT_EQ(listening_line("::1", 41234), "listening on [::1]:41234");
  EXPECT_EQ(parse_listening_line("listening on 127.0.0.1:1883\n"), (HostPort{"127.0.0.1", 1883}));
  EXPECT_EQ(parse_listening_line("listening on [::1]:41234\r\n"), (HostPort{"::1", 41234}));
  EXPECT_EQ(parse_listening_line(listening_line("::1", 9)), (HostPort{"::1", 9}));
  EXPECT_FALSE(parse_listening_line("listening on 127.0.0.1:0"));  // a bound port is never 0
  EXPECT_FALSE(parse_listening_line("listening on nowhere"));
  EXPECT_FALSE(parse_listening_line("Listening on 127.0.0.1:1883"));
  EXPECT_FALSE(parse_listening_line("bench: listening on 127.0.0.1:1883"));
}

TEST(TcpConnect, a_free_loopback_port_accepts_a_listener) {
  const auto port = mqtth::process::free_loopback_port();
  ASSERT_NE(port, 0);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(fd);
}

TEST(TcpConnect, resolves_numeric_addresses_and_localhost_as_127_0_0_1) {
  using mqtth::process::resolve_tcp;
  const auto v4 = resolve_tcp("localhost", 1883);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in*>(&v4->storage)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(&v4->storage)->sin_port), 1883);
  const auto v6 = resolve_tcp("::1", 8883);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, AF_INET6);
}
