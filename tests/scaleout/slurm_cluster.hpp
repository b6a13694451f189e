#pragma once
// A private one-node Slurm cluster for tests: its own munge key and munged socket, slurmctld and
// slurmd on ports of their own, all state under a temporary folder, so a system-wide Slurm or
// munge is never touched. Jobs are submitted with the client commands (sbatch, squeue …) pointed
// at this cluster through SLURM_CONF. Everything started is stopped when the object goes away,
// also when a test fails half-way. Needs root (slurmd starts jobs as the submitting user).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

extern char** environ;

namespace s2prep::scaleouttest {

// How long slurmctld keeps a finished job's record (see the configuration below).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr int kMinJobAge = 120;
#else
inline constexpr int kMinJobAge = 8;
#endif

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using s2prep::testing::RunResult;
using s2prep::testing::TempDir;

// The full path of a program on PATH or in the sbin folders (daemons live there and a test's
// PATH may not name them); nullopt when it is not installed.
inline std::optional<fs::path> find_program(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/local/sbin:/usr/bin:/bin";
  std::istringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// The programs the cluster needs, or the sentence saying which are missing ("" when none is).
inline const std::vector<std::string>& slurm_programs() {
  static const std::vector<std::string> names{"mungekey", "munged", "slurmctld", "slurmd",
                                              "sbatch",   "sinfo",  "squeue",    "scancel"};
  return names;
}
inline std::string missing_slurm_programs() {
  std::string missing;
  for (const auto& name : slurm_programs()) {
    if (!find_program(name)) missing += (missing.empty() ? "" : ", ") + name;
  }
  return missing;
}

// Two distinct TCP ports nobody listens on right now (the kernel picks them; both sockets are
// held until both are known so they differ).
inline std::pair<int, int> free_port_pair() {
  int fds[2] = {-1, -1};
  int ports[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (fds[i] < 0 || ::bind(fds[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fds[i], reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      for (int fd : fds) {
        if (fd >= 0) ::close(fd);
      }
      throw std::runtime_error("cannot find a free TCP port for the test cluster");
    }
    ports[i] = ntohs(addr.sin_port);
  }
  for (int fd : fds) ::close(fd);
  return {ports[0], ports[1]};
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A program started in the background with stdout and stderr in `log`, stopped (SIGTERM, then
// SIGKILL after a grace period) and reaped when the object goes away. Only this process is
// signalled, by its id. Should the test process itself be killed (a ctest timeout), the kernel
// sends the daemon SIGTERM (PR_SET_PDEATHSIG), so no daemon outlives its test; posix_spawn cannot
// ask for that, hence fork and exec.
class Daemon {
 public:
  Daemon(std::vector<std::string> argv, fs::path log,
         const std::map<std::string, std::string>& extra_env = {})
      : name_(fs::path(argv.at(0)).filename()), log_(std::move(log)) {
    // Everything the child needs is prepared before fork: the test may have threads (the test
    // server), so the child only makes async-signal-safe calls before exec.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry(*e);
      if (!extra_env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, argp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (auto& s : argv) argp.push_back(s.data());
    argp.push_back(nullptr);
    const int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0) throw std::runtime_error("cannot open " + log_.string());
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);  // the test died before prctl took effect
      ::dup2(in, STDIN_FILENO);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
      ::execve(argp[0], argp.data(), envp.data());
      ::_exit(127);
    }
    ::close(out);
    ::close(in);
    if (pid_ < 0) throw std::runtime_error("cannot start " + argv[0]);
  }
  ~Daemon() { stop(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }

  void stop(std::chrono::milliseconds grace = 10s) {
    if (!running()) return;
    ::kill(pid_, SIGTERM);
    const auto end = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < end) {
      if (!running()) return;
      std::this_thread::sleep_for(20ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  std::string describe() const { return "--- " + name_ + " log ---\n" + read_file(log_); }

 private:
  std::string name_;
  fs::path log_;
  pid_t pid_ = -1;
};

// Polls `condition` every 100 ms until it holds (true) or `deadline` passes (false). The
// deadline only stops a hang: callers give many times what the condition takes.
inline bool poll_until(const std::function<bool()>& condition, std::chrono::seconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

class SlurmCluster {
 public:
  // Starts munged, slurmctld and slurmd and waits until the node takes jobs; throws with the
  // daemons' logs when it does not.
  SlurmCluster() : dir_("s2prep-slurm") {
    // munged refuses a socket whose folders are not searchable by everyone, and a key or log
    // folder writable by others.
    fs::permissions(dir_.path(), fs::perms(0755));
    for (const char* sub : {"munge", "run", "state", "spool", "log"}) {
      fs::create_directory(dir_ / sub);
      fs::permissions(dir_ / sub, fs::perms(0755));
    }
    fs::permissions(dir_ / "munge", fs::perms(0700));
    socket_ = dir_ / "run" / "munge.socket";
    conf_ = dir_ / "slurm.conf";

    const auto key = command({find_program("mungekey")->string(), "--create", "--keyfile",
                              (dir_ / "munge" / "munge.key").string()});
    if (key.exit_code != 0) throw std::runtime_error("mungekey failed: " + key.err);
    munged_.emplace(
        std::vector<std::string>{find_program("munged")->string(), "--foreground",
                                 "--socket=" + socket_.string(),
                                 "--key-file=" + (dir_ / "munge/munge.key").string(),
                                 "--pid-file=" + (dir_ / "run/munged.pid").string(),
                                 "--log-file=" + (dir_ / "munge/munged.log").string(),
                                 "--seed-file=" + (dir_ / "munge/munged.seed").string()},
        dir_ / "log" / "munged.out");
    if (!poll_until([&] { return fs::exists(socket_) || !munged_->running(); }, 30s) ||
        !munged_->running()) {
      throw std::runtime_error("munged did not start\n" + munged_->describe() +
                               read_file(dir_ / "munge/munged.log"));
    }

    write_conf();
    slurmctld_.emplace(
        std::vector<std::string>{find_program("slurmctld")->string(), "-D", "-f", conf_.string()},
        dir_ / "log" / "slurmctld.out", env());
    slurmd_.emplace(std::vector<std::string>{find_program("slurmd")->string(), "-D", "-N",
                                             "localhost", "-f", conf_.string()},
                    dir_ / "log" / "slurmd.out", env());
    // The node registers with the controller a second or two after both started.
    const bool idle = poll_until(
        [&] {
          if (!slurmctld_->running() || !slurmd_->running()) return true;
          return command({"sinfo", "--noheader", "--Node", "--format=%t"}).out == "idle\n";
        },
        60s);
    if (!idle || !slurmctld_->running() || !slurmd_->running()) {
      throw std::runtime_error("the test cluster's node did not become idle\n" + logs());
    }
  }

  ~SlurmCluster() {
    // Jobs still running (a test that failed or timed out) are cancelled by id first, so no
    // job step outlives the cluster; all jobs in this private cluster are the test's own.
    if (slurmctld_ && slurmctld_->running()) {
      const auto jobs = command({"squeue", "--noheader", "--format=%A"});
      std::istringstream ids(jobs.out);
      std::vector<std::string> cancel{"scancel"};
      for (std::string id; ids >> id;) cancel.push_back(id);
      if (cancel.size() > 1) {
        command(cancel);
        poll_until([&] { return command({"squeue", "--noheader"}).out.empty(); }, 30s);
      }
    }
    slurmd_.reset();
    slurmctld_.reset();
    munged_.reset();
  }
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  // The environment a client command needs to talk to this cluster.
  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    extra["SLURM_CONF"] = conf_.string();
    return extra;
  }

  // Runs a Slurm client command (found on PATH) against this cluster. A client waiting for a
  // job (sbatch --wait) would otherwise outlive a killed test, polling a controller that is gone:
  // util-linux's setpriv has the kernel end it with its parent.
  RunResult command(std::vector<std::string> argv, std::map<std::string, std::string> extra = {},
                    std::chrono::seconds timeout = 60s) const {
    if (auto full = find_program(argv.at(0))) argv[0] = full->string();
    if (auto setpriv = find_program("setpriv")) {
      argv.insert(argv.begin(), {setpriv->string(), "--pdeathsig", "TERM"});
    }
    return s2prep::testing::run_process(argv, env(std::move(extra)), timeout);
  }

  // Every daemon's output, for a failed expectation to explain itself.
  std::string logs() const {
    std::string out;
    for (const auto& d : {&munged_, &slurmctld_, &slurmd_}) {
      if (*d) out += (*d)->describe();
    }
    return out;
  }

  const fs::path& dir() const { return dir_.path(); }

 private:
  void write_conf() const {
    const auto [controller_port, node_port] = free_port_pair();
    const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    std::ofstream conf(conf_);
    conf << "ClusterName=s2preptest\n"
         << "SlurmctldHost=localhost\n"
         << "SlurmctldPort=" << controller_port << "\n"
         << "SlurmdPort=" << node_port << "\n"
         << "SlurmUser=root\n"
         << "SlurmdUser=root\n"
         << "AuthType=auth/munge\n"
         << "CredType=cred/munge\n"
         << "AuthInfo=socket=" << socket_.string() << "\n"
         << "StateSaveLocation=" << (dir_ / "state").string() << "\n"
         << "SlurmdSpoolDir=" << (dir_ / "spool").string() << "\n"
         << "SlurmctldPidFile=" << (dir_ / "run/slurmctld.pid").string() << "\n"
         << "SlurmdPidFile=" << (dir_ / "run/slurmd.pid").string() << "\n"
         << "ProctrackType=proctrack/linuxproc\n"
         << "TaskPlugin=task/none\n"
         << "MpiDefault=none\n"
         // One CPU per array task, so as many tasks run at once as the machine has cores.
         << "SelectType=select/cons_tres\n"
         << "SelectTypeParameters=CR_CPU\n"
         << "SchedulerType=sched/builtin\n"
         << "AccountingStorageType=accounting_storage/none\n"
         << "JobAcctGatherType=jobacct_gather/none\n"
         << "JobCompType=jobcomp/none\n"
         << "ReturnToService=2\n"
         // sbatch --wait polls every 2 s only while MinJobAge/3 stays at or below that; with the
         // default (300 s) it backs off to 8 and 32 s, and four trivial tasks take 42 s. But
         // slurmctld forgets a finished task MinJobAge seconds after it ends, and sbatch --wait
         // reads the tasks' records in order, stopping at the first one still running: a task
         // that fails more than MinJobAge before the array ends can be forgotten unseen, and
         // sbatch then exits 0. Under AddressSanitizer every task runs several times longer
         // (the failed-unit test saw exit 0 with MinJobAge 8), so that build keeps records
         // longer and waits on slower polls.
         << "MinJobAge=" << kMinJobAge << "\n"
         << "NodeName=localhost CPUs=" << cpus << " State=UNKNOWN\n"
         << "PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP\n";
  }

  TempDir dir_;  // first member: removed after every daemon has stopped
  fs::path socket_, conf_;
  std::optional<Daemon> munged_, slurmctld_, slurmd_;
};

}  // namespace s2prep::scaleouttest
