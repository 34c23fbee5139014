#include "mqtth/process/BrokerProcess.hpp"

#include "mqtth/process/TcpConnect.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <utility>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mqtth::process {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kOutputKept = 65536;

std::string signal_name(int sig) {
  switch (sig) {
    case SIGABRT: return "SIGABRT";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    default: return std::to_string(sig);
  }
}

}  // namespace

bool BrokerProcess::start(const std::string& host, std::uint16_t port, std::chrono::milliseconds ready_within) {
  if (!managed()) return true;
  const auto address = resolve_tcp(host, port);
  if (!address) {
    exit_ = "cannot resolve " + host;
    return false;
  }
  port_taken_ = false;
  if (const int fd = connect_tcp(*address, 200); fd >= 0) {
    ::close(fd);
    port_taken_ = true;
    return false;
  }
  // Built before fork(): the child of a threaded program (the fuzzer) must not allocate.
  std::vector<std::string> words = argv_;
  for (auto& w : words)
    for (auto at = w.find("{port}"); at != std::string::npos; at = w.find("{port}", at))
      w.replace(at, 6, std::to_string(port));
  std::vector<char*> args;
  for (auto& a : words) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('=') + 1);  // "NAME="
    const bool replaced = std::any_of(env_.begin(), env_.end(), [&](const std::string& mine) { return mine.rfind(name, 0) == 0; });
    if (!replaced) envp.push_back(*e);
  }
  for (auto& mine : env_) envp.push_back(mine.data());
  envp.push_back(nullptr);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return false;
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return false;
  }
  if (pid_ == 0) {
    // Its own process group, so stop() also kills whatever it starts (a wrapper script's broker).
    ::setpgid(0, 0);
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    ::execvpe(args[0], args.data(), envp.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // also here, so that a stop() right away reaches the group
  group_ = pid_;
  ::close(pipefd[1]);
  out_ = pipefd[0];
  ::fcntl(out_, F_SETFL, O_NONBLOCK);
  output_.clear();
  pending_.clear();
  out_ended_ = false;
  exit_.clear();
  ++starts_;
  const auto deadline = Clock::now() + ready_within;
  while (Clock::now() < deadline) {
    if (exited()) return false;
    const int fd = connect_tcp(*address, 200);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    ::usleep(20000);
  }
  return false;
}

bool BrokerProcess::exited() {
  if (pid_ <= 0) return managed();
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    exit_ = WIFSIGNALED(status) ? "signal " + signal_name(WTERMSIG(status)) : "exit " + std::to_string(WEXITSTATUS(status));
    read_output();
    return true;
  }
  return false;
}

bool BrokerProcess::exited_within(int ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < deadline) {
    if (exited()) return true;
    ::usleep(5000);
  }
  return exited();
}

void BrokerProcess::read_output() {
  if (out_ < 0) return;
  char buf[4096];
  for (;;) {
    const auto n = ::read(out_, buf, sizeof buf);
    if (n == 0) out_ended_ = true;
    if (n <= 0) break;
    output_.append(buf, static_cast<std::size_t>(n));
    pending_.append(buf, static_cast<std::size_t>(n));
  }
  if (output_.size() > kOutputKept) output_.erase(0, output_.size() - kOutputKept);
  if (pending_.size() > kOutputKept) pending_.erase(0, pending_.size() - kOutputKept);
}

std::string BrokerProcess::drain() {
  read_output();
  return std::exchange(pending_, {});
}

BrokerProcess::Stopped BrokerProcess::stop(std::chrono::milliseconds grace) {
  Stopped how;
  if (pid_ > 0 && !exited()) {
    how.was_running = true;
    ::kill(-pid_, SIGTERM);
  }
  // Until the command has exited and nothing writes to its output any more (a wrapper
  // script's broker may still be printing its LeakSanitizer report), or `grace` is over.
  const auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    how.output += drain();
    if (pid_ <= 0 && (out_ < 0 || out_ended_)) break;
    exited();
    ::usleep(5000);
  }
  if (pid_ > 0) how.killed = true;
  if (reap(SIGKILL)) exit_ = "signal SIGKILL";
  close_output();
  how.output += drain();
  return how;
}

void BrokerProcess::kill() {
  reap(SIGKILL);
  close_output();
}

bool BrokerProcess::reap(int sig) {
  if (pid_ <= 0) return false;
  ::kill(-pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_ = WIFSIGNALED(status) ? "signal " + signal_name(WTERMSIG(status)) : "exit " + std::to_string(WEXITSTATUS(status));
  pid_ = -1;
  return true;
}

void BrokerProcess::close_output() {
  if (out_ < 0) return;
  read_output();
  // Stragglers of its process group (a wrapper script's children) still hold the pipe.
  if (!out_ended_ && group_ > 0) ::kill(-group_, SIGKILL);
  ::close(out_);
  out_ = -1;
}

std::optional<std::uint64_t> BrokerProcess::resident_kib() const {
  if (pid_ <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) {
      try {
        return std::stoull(line.substr(6));
      } catch (...) {
        return std::nullopt;
      }
    }
  return std::nullopt;
}

std::string listening_line(std::string_view host, std::uint16_t port) {
  return "listening on " + common::format_host_port(host, port);
}

std::optional<common::HostPort> parse_listening_line(std::string_view line) {
  constexpr std::string_view kPrefix = "listening on ";
  if (line.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  line.remove_prefix(kPrefix.size());
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return common::parse_host_port(line, common::PortZero::refused).value;
}

}  // namespace mqtth::process
