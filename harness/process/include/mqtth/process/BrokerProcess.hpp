// A broker run as a child process by a tool that then drives it over TCP: `mqtt-harness
// fuzz --spawn` (crash oracle, restart after a crash) and `mqtt-harness run --spawn`
// (crash, sanitizer and leak reports attributed to scenarios). Also the
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
  ~BrokerProcess() { kill(); }
  BrokerProcess(const BrokerProcess&) = delete;
  BrokerProcess& operator=(const BrokerProcess&) = delete;

  bool managed() const { return !argv_.empty(); }

  // "NAME=VALUE" entries the command gets on top of this process's environment (replacing
  // a variable of the same name), from the next start() on: the sanitizer options that
  // carry suppression files (Suppressions::runtime_environment).
  void set_environment(std::vector<std::string> entries) { env_ = std::move(entries); }

  // Starts the command in its own process group, stdout and stderr into one pipe, and
  // waits until HOST:PORT accepts a TCP connection. Every `{port}` in the command's words
  // becomes `port` (so a tool can pick a free port for it). false when it exited first (exit
  // status 127 and an "exec CMD: ..." line in output() when the command cannot run) or did
  // not accept within `ready_within`. Also false, without starting anything, when HOST:PORT
  // already accepts connections (port_taken()): a broker started there could not be told
  // apart from whatever listens there, and would be tested in its place.
  bool start(const std::string& host, std::uint16_t port,
             std::chrono::milliseconds ready_within = std::chrono::seconds(15));
  // The last start() found HOST:PORT taken by another process.
  bool port_taken() const { return port_taken_; }

  // Non-blocking: has it exited? Records how (exit_description()).
  bool exited();
  // Waits up to `ms` for an exit (a crash may lag the connection reset a little).
  bool exited_within(int ms);

  // Output since the last call, including what exited() and stop() read meanwhile (the
  // sanitizer oracle scans it; at most the last 64 KiB); output() keeps the last 64 KiB of
  // the current run (start() clears it).
  std::string drain();

  // How stop() went.
  struct Stopped {
    bool was_running = false;  // it had not exited before stop() was called
    bool killed = false;       // it outlived `grace` after SIGTERM and was killed (SIGKILL)
    std::string output;        // what it printed since the last drain(): its last words
  };
  // SIGTERM to the whole process group, then waits up to `grace` for the command to exit
  // and for its output to end (everything that writes to it exited); SIGKILL to the group
  // only after that. This order matters: LeakSanitizer reports only at a clean exit.
  // exit_description() then says how it ended and output() holds its last words.
  Stopped stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL to the whole process group at once, and reaps it (nothing more to learn from it).
  void kill();

  // The read end of its output pipe (non-blocking; -1 when not running), for a caller that
  // must drain() whenever output arrives: a broker that fills the pipe blocks on its logging.
  int output_fd() const { return out_; }
  // drain() has seen the end of its output: nothing holds the pipe's write end any more.
  bool output_ended() const { return out_ended_; }

  const std::string& exit_description() const { return exit_; }  // "exit 3", "signal SIGSEGV"
  const std::string& output() const { return output_; }
  int starts() const { return starts_; }
  // Its resident set size (VmRSS of /proc/PID/status, PID the command's process) in KiB;
  // nullopt when it does not run or the file cannot be read (the broker oracles' RSS).
  std::optional<std::uint64_t> resident_kib() const;

 private:
  // Sends `sig` to the process group and waits for the command; false when it had exited.
  bool reap(int sig);
  void close_output();
  // Reads what the pipe holds into output_ and pending_ (what drain() returns next).
  void read_output();

  std::vector<std::string> argv_;
  std::vector<std::string> env_;
  pid_t pid_ = -1;
  pid_t group_ = -1;  // its process group (= the first pid), also after it is reaped
  int out_ = -1;
  bool out_ended_ = false;  // drain() saw end of file: nothing holds the pipe's write end
  std::string output_;
  std::string pending_;  // read but not yet returned by drain() (bounded like output_)
  std::string exit_;
  bool port_taken_ = false;
  int starts_ = 0;
};

// The one stdout line of `mqtt-harness broker` and `proxy` once they accept, which
// scripts and tools wait for: "listening on 127.0.0.1:1883", "listening on [::1]:1883".
std::string listening_line(std::string_view host, std::uint16_t port);
// Its HOST:PORT; nullopt for any other line (trailing "\n" or "\r\n" allowed).
std::optional<common::HostPort> parse_listening_line(std::string_view line);

}  // namespace mqtth::process
