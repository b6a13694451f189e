#include "cli/interrupt.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <thread>

#include "pipeline/output_folder.hpp"

namespace s2prep::cli {
namespace {

// The signal watcher is the only reader; the command sets the folder once it is known.
struct CleanupTarget {
  std::mutex mutex;
  std::filesystem::path folder;
};

CleanupTarget& target() {
  static CleanupTarget t;
  return t;
}

// The handler only writes the signal number into a pipe (all it may safely do); the watcher
// thread does the rest. A handler, unlike a blocked mask and sigwait, also catches signals
// delivered to threads that libraries started before main().
int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int sig) {
  const unsigned char byte = static_cast<unsigned char>(sig);
  [[maybe_unused]] const auto written = ::write(signal_pipe[1], &byte, 1);
}

void watch() {
  unsigned char byte = 0;
  while (::read(signal_pipe[0], &byte, 1) != 1) {
  }
  const int sig = byte;
  std::fputs(isatty(STDERR_FILENO) ? "\r\x1b[Ks2prep: interrupted; run the same command again to "
                                     "resume\n"
                                   : "s2prep: interrupted; run the same command again to resume\n",
             stderr);
  std::fflush(stderr);
  std::filesystem::path folder;
  {
    std::lock_guard lock(target().mutex);
    folder = target().folder;
  }
  if (!folder.empty()) {
    // Twice: a writer thread may have created a temporary file during the first sweep.
    pipeline::remove_temporary_files(folder, static_cast<long>(::getpid()));
    pipeline::remove_temporary_files(folder, static_cast<long>(::getpid()));
  }
  ::_exit(128 + sig);
}

}  // namespace

void install_interrupt_handling() {
  if (::pipe2(signal_pipe, O_CLOEXEC) != 0) return;  // without it, signals keep their defaults
  std::thread(watch).detach();
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void set_interrupt_cleanup_folder(const std::filesystem::path& folder) {
  std::lock_guard lock(target().mutex);
  target().folder = folder;
}

}  // namespace s2prep::cli
