#pragma once
// A tiny scripted HTTP server on 127.0.0.1 for answers the shared test server never gives
// (malformed documents, paging loops, replays of recorded pages).

#include <httplib.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace s2prep::stac {

class ScriptedServer {
 public:
  struct Answer {
    int status = 200;
    std::string body;
  };
  using Handler = std::function<Answer(const std::string& method, const std::string& target,
                                       const std::string& body)>;

  explicit ScriptedServer(Handler handler) : handler_(std::move(handler)) {
    auto route = [this](const httplib::Request& req, httplib::Response& res) {
      Answer answer;
      {
        std::lock_guard lock(mutex_);
        bodies_.push_back(req.body);
        authorizations_.push_back(req.get_header_value("Authorization"));
        answer = handler_(req.method, req.target, req.body);
      }
      res.status = answer.status;
      res.set_content(answer.body, "application/geo+json");
    };
    server_.Get(".*", route);
    server_.Post(".*", route);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ScriptedServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  // The Authorization header of each request ("" when absent).
  std::vector<std::string> authorizations() const {
    std::lock_guard lock(mutex_);
    return authorizations_;
  }

 private:
  Handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::string> authorizations_;
};

}  // namespace s2prep::stac
