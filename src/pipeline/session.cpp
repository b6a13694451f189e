#include "pipeline/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <s2prep/errors.hpp>

#include "core/version.hpp"
#include "mask/model_resolution.hpp"
#include "stac/signing.hpp"

namespace s2prep::pipeline {
namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

std::chrono::milliseconds milliseconds(double seconds) {
  return std::chrono::milliseconds(
      static_cast<long long>(std::ceil(std::min(seconds, 86400.0) * 1000)));
}

}  // namespace

Request with_environment_defaults(Request request) {
  auto& services = request.services;
  if (services.stac_url.empty()) services.stac_url = environment("S2PREP_STAC_URL");
  if (services.stac_url.empty()) services.stac_url = kDefaultStacUrl;
  if (services.token_url.empty()) services.token_url = environment("S2PREP_TOKEN_URL");
  if (services.token_url.empty()) services.token_url = kDefaultTokenUrl;
  if (services.collection.empty()) services.collection = kDefaultCollection;
  if (!request.params.pc_key) {
    if (auto key = environment("PC_SDK_SUBSCRIPTION_KEY"); !key.empty()) {
      request.params.pc_key = std::move(key);
    }
  }
  // An empty key given on purpose means none (and not the environment's).
  if (request.params.pc_key && request.params.pc_key->empty()) request.params.pc_key.reset();
  return request;
}

std::filesystem::path resolve_model_dir(const std::filesystem::path& model_dir) {
  if (!model_dir.empty()) {
    mask::check_model_dir(model_dir, "--model-dir");
    return model_dir;
  }
  std::filesystem::path from_environment = environment("S2PREP_MODEL_DIR");
  mask::check_model_dir(from_environment, "S2PREP_MODEL_DIR");
  return from_environment;
}

net::HttpOptions http_options(const Request& request) {
  const HttpSettings& http = request.http;
  net::HttpOptions options;
  const double attempt_s =
      http.request_timeout_s > 0 ? http.request_timeout_s : request.params.dl_timeout;
  options.transfer_timeout = milliseconds(attempt_s);
  options.connect_timeout = milliseconds(http.connect_timeout_s);
  options.retry.max_total = milliseconds(http.total_timeout_s);
  options.retry.max_attempts = http.max_attempts;
  options.user_agent =
      http.user_agent.empty() ? std::string("s2prep/") + kVersion : http.user_agent;
  return options;
}

void set_gdal_request_limits(ingest::ThreadConfigScope& scope, double dl_timeout_s) {
  const std::string seconds = fmt::format("{:.0f}", std::ceil(std::max(1.0, dl_timeout_s)));
  scope.set("GDAL_HTTP_TIMEOUT", seconds);
  scope.set("GDAL_HTTP_CONNECTTIMEOUT",
            fmt::format("{:.0f}", std::clamp(std::ceil(dl_timeout_s), 1.0, 30.0)));
}

AssetSigner::AssetSigner(net::HttpClient& http, const Request& request) {
  const Services& services = request.services;
  if (services.token_url == "none") return;
  tokens_ = std::make_unique<stac::TokenCache>(http, services.token_url, request.params.pc_key);
  sign_ = [tokens = tokens_.get(), services](const std::string& href,
                                             const ingest::SignReason& reason) {
    if (!stac::href_needs_signing(href, services.token_url, services.sign_hosts)) return href;
    if (reason.refresh) tokens->invalidate(services.collection, reason.refused);
    return tokens->sign(href, services.collection);
  };
}

AssetSigner::~AssetSigner() = default;

void ProgressReporter::operator()(const Progress& progress) const {
  check_stop();
  if (!callback_) return;
  std::lock_guard lock(mutex_);
  callback_(progress);
}

void ProgressReporter::check_stop() const {
  if (stop_.stop_requested()) {
    throw Cancelled("Stopped on request; outputs finished before the stop are complete.");
  }
}

}  // namespace s2prep::pipeline
