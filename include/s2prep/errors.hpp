#pragma once
// The few exception types s2prep throws. Each carries one user-facing sentence that names the
// input at fault and what to do, and maps to one exit status of the command line: 2 bad arguments
// or input, 3 nothing found or nothing can cover the region, 130 cancelled, 1 any other failure.
// Every error derives from s2prep::Error (itself a std::runtime_error).

#include <stdexcept>
#include <string>

namespace s2prep {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual int exit_code() const noexcept { return 1; }
};

// The user gave something unusable: a flag, a geometry, a date, a parameters file, a model file.
class InputError : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return 2; }
};

// The request was valid but the catalogue holds nothing usable for it.
class NothingFoundError : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return 3; }
};

// A remote service failed or answered something we cannot use (after retries).
// The message names the URL with any query string (SAS token) removed.
class RemoteError : public Error {
 public:
  RemoteError(const std::string& message, std::string url, int http_status = 0)
      : Error(message), url_(std::move(url)), http_status_(http_status) {}
  const std::string& url() const noexcept { return url_; }
  int http_status() const noexcept { return http_status_; }

 private:
  std::string url_;
  int http_status_;
};

// Reading or writing raster data failed (GDAL error, short read, wrong band count or size).
class DataError : public Error {
 public:
  using Error::Error;
};

// The caller asked the work to stop (ProcessingOptions::stop). Outputs finished before the
// request stay complete; the one in progress leaves nothing behind that looks complete.
class Cancelled : public Error {
 public:
  using Error::Error;
  int exit_code() const noexcept override { return 130; }
};

}  // namespace s2prep
