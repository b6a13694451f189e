#pragma once
// What every call (search, plan, load, run) sets up before it reads a pixel: the request with
// its defaults from the environment, an HTTP client with the call's own settings, the asset
// signer and the progress reporter. All of it belongs to the call: two calls in one process
// with different settings each get theirs.

#include <memory>
#include <mutex>
#include <stop_token>

#include <s2prep/options.hpp>
#include <s2prep/results.hpp>

#include "ingest/acquisition_reader.hpp"
#include "ingest/gdal_env.hpp"
#include "net/http_client.hpp"

namespace s2prep::stac {
class TokenCache;
}

namespace s2prep::pipeline {

// The request with empty service URLs and an unset key taken from the environment
// (S2PREP_STAC_URL, S2PREP_TOKEN_URL, PC_SDK_SUBSCRIPTION_KEY), else Planetary Computer's.
Request with_environment_defaults(Request request);

// The model folder: `model_dir`, else S2PREP_MODEL_DIR; checked to be a readable folder
// (InputError naming the flag or the variable). Empty when neither is set.
std::filesystem::path resolve_model_dir(const std::filesystem::path& model_dir);

// The HTTP client options of one call: catalogue pages, tokens and metadata documents. Each
// attempt is bounded by request_timeout_s (dl_timeout when 0: a stalled or dripping service is
// cut and retried like a band read), the whole exchange by total_timeout_s.
net::HttpOptions http_options(const Request& request);

// GDAL's HTTP limits for the current thread (COG header reads outside band reads), from the
// call's dl_timeout: GDAL's own settings are process-wide, so each call sets its own per thread.
void set_gdal_request_limits(ingest::ThreadConfigScope& scope, double dl_timeout_s);

// Signs asset hrefs with the collection's SAS token: only hrefs on Azure Blob Storage, on the
// token service's own host or on a host of Services::sign_hosts; a 403 refreshes the token once
// for every reader refused with it.
class AssetSigner {
 public:
  AssetSigner(net::HttpClient& http, const Request& request);
  ~AssetSigner();
  AssetSigner(const AssetSigner&) = delete;
  AssetSigner& operator=(const AssetSigner&) = delete;
  // Empty when signing is off (token_url "none").
  const ingest::HrefSigner& signer() const { return sign_; }

 private:
  std::unique_ptr<stac::TokenCache> tokens_;
  ingest::HrefSigner sign_;
};

// Hands progress to the caller's callback one call at a time, and turns a stop request into
// Cancelled at the next report (reports come after every band read and every chip).
class ProgressReporter {
 public:
  ProgressReporter(ProgressCallback callback, std::stop_token stop)
      : callback_(std::move(callback)), stop_(std::move(stop)) {}
  void operator()(const Progress& progress) const;
  // Throws Cancelled when a stop was requested.
  void check_stop() const;

 private:
  ProgressCallback callback_;
  std::stop_token stop_;
  mutable std::mutex mutex_;
};

}  // namespace s2prep::pipeline
