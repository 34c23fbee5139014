// A broker run as a child process by a tool that then drives it over TCP: `mqtt-harness
// fuzz --spawn` (crash oracle, restart after a crash), and the runner next. Also the
// contract line such a broker prints, `listening on HOST:PORT` (docs/architecture.md
// "Contracts"). POSIX fork/exec/waitpid, no Qt: usable from plain threads.
#pragma once

#include <mqtth/common/HostPort.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace mqtth::process {

class BrokerProcess {
 public:
  // `argv`: the command line; empty means the broker is not ours (someone else runs it),
  // and every call below is a no-op that reports it alive.
  explicit BrokerProcess(std::vector<std::string> argv) : argv_(std::move(argv)) {}
  ~BrokerProcess() { stop(); }
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  bool managed() const { return !argv_.empty(); }

  // Starts the command in its own process group, stdout and stderr into one pipe, and
  // waits until HOST:PORT accepts a TCP connection. false when it exited first (exit
  // status 127 and an "exec CMD: ..." line in output() when the command cannot run) or did
  // not accept within `ready_within`.
  bool start(const std::string& host, std::uint16_t port,
             std::chrono::milliseconds ready_within = std::chrono::seconds(15));

  // Non-blocking: has it exited? Records how (exit_description()).
  bool exited();
  // Waits up to `ms` for an exit (a crash may lag the connection reset a little).
  bool exited_within(int ms);

  // Output since the last call (the sanitizer oracle scans it); output() keeps the last 64 KiB.
  std::string drain();

  // Kills the whole process group (SIGKILL) and reaps it.
  void stop();

  const std::string& exit_description() const { return exit_; }  // "exit 3", "signal SIGSEGV"
  const std::string& output() const { return output_; }
  int starts() const { return starts_; }

 private:
  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string output_;
  std::string exit_;
  int starts_ = 0;
};

// The one stdout line of `mqtt-harness broker` and `proxy` once they accept, which
// scripts and tools wait for: "listening on 127.0.0.1:1883", "listening on [::1]:1883".
std::string listening_line(std::string_view host, std::uint16_t port);
// Its HOST:PORT; nullopt for any other line (trailing "\n" or "\r\n" allowed).
std::optional<common::HostPort> parse_listening_line(std::string_view line);

}  // namespace mqtth::process
