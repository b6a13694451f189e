#pragma once
// An in-process HTTP server on 127.0.0.1 for tests, benchmarks and the offline demo. It plays
// the three services s2prep talks to:
//   /stac            STAC API landing page; POST /stac/search (and GET with query parameters)
//                    over a pool of Items: collections, bbox / intersects and datetime filters,
//                    limit, sortby, the query extension, paging by a `token` carried in the
//                    `next` link's POST body.
//   /token/<coll>    SAS token service: {"msft:expiry": ..., "token": "..."}; checks
//                    Ocp-Apim-Subscription-Key when a key is required.
//   /blob/<path>     static files under a root folder, with HTTP Range (single and multiple
//                    ranges, HEAD), answering 403 without a valid, unexpired token when signing
//                    is required.
// Every route can be given faults. Nothing here talks to any other address.
//
// Spatial filtering compares bounding boxes only: `bbox` against each Item's bbox, and for
// `intersects` the bbox of the given geometry. That returns a superset of the exact
// intersection, as a real service may too; clients must do their own exact geometry work.
// Search results are sorted by datetime, then id (unless sortby says otherwise), so paging is
// deterministic.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace s2prep::testing {

// One injected fault. Faults queued on a route are consumed in order, one per matching request,
// each `count` times.
struct Fault {
  int status = 0;                      // answer this status instead (0: serve normally)
  std::optional<int> retry_after;      // Retry-After header, seconds
  std::chrono::milliseconds delay{0};  // sleep before answering
  bool drop_connection = false;        // close the connection without an answer
  bool truncate_body = false;          // send a Content-Length larger than the body
  // Hostile-server faults (kept apart from the catalogue features above).
  // Send the body `drip_bytes` bytes at a time, sleeping `drip_interval` between them: a server
  // that never stalls completely, yet would take hours to finish.
  std::chrono::milliseconds drip_interval{0};
  std::size_t drip_bytes = 1;
  // Answer `redirect_status` with this Location instead (any scheme, any host).
  std::string redirect_to;
  int redirect_status = 302;
  int count = 1;

  // Shorthands (designated initializers skipping members trip -Wmissing-field-initializers).
  static Fault http_status(int status, std::optional<int> retry_after = std::nullopt,
                           int count = 1) {
    Fault f;
    f.status = status;
    f.retry_after = retry_after;
    f.count = count;
    return f;
  }
  static Fault delayed(std::chrono::milliseconds delay, int count = 1) {
    Fault f;
    f.delay = delay;
    f.count = count;
    return f;
  }
  static Fault dropped(int count = 1) {
    Fault f;
    f.drop_connection = true;
    f.count = count;
    return f;
  }
  static Fault truncated(int count = 1) {
    Fault f;
    f.truncate_body = true;
    f.count = count;
    return f;
  }
  static Fault dripping(std::chrono::milliseconds interval, std::size_t bytes = 1, int count = 1) {
    Fault f;
    f.drip_interval = interval;
    f.drip_bytes = bytes;
    f.count = count;
    return f;
  }
  static Fault redirected(std::string location, int status = 302, int count = 1) {
    Fault f;
    f.redirect_to = std::move(location);
    f.redirect_status = status;
    f.count = count;
    return f;
  }
};

struct RequestRecord {
  std::string method;
  std::string path;   // without query string
  std::string query;  // raw query string
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  int status = 0;                // 0 when the connection was dropped
  std::uint64_t bytes_sent = 0;  // body bytes actually sent (half the body when truncated)
};

class TestServer {
 public:
  TestServer();  // binds 127.0.0.1 on a free port and starts serving
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const;
  std::string base_url() const;                                  // http://127.0.0.1:<port>
  std::string stac_url() const;                                  // <base>/stac
  std::string token_url() const;                                 // <base>/token
  std::string blob_url(const std::string& relative_path) const;  // <base>/blob/<path>

  // --- STAC ---
  void add_item(nlohmann::json item);  // a STAC Item (Feature); its "collection" is used
  void clear_items();
  void set_max_page_size(int n);  // server-side cap on `limit` (default 100)
  // When false, responses carry no `next` link (as some deployments do).
  void set_paging_links(bool enabled);
  // The POST `next` link's body. Default: {"token": "next:<collection>:<id>"} with
  // "merge": true, so a client must merge it into its previous body. When true, the body is the
  // whole previous body plus the token and the link has no "merge" member, exactly as the
  // recorded Planetary Computer pages in ../shared/fixtures/planetary-computer/
  // search_paging_naip are.
  void set_next_link_full_body(bool full_body);
  // sortby (fields id and datetime, asc or desc) and the query extension (property "id" or any
  // Item property, operators eq neq lt lte gt gte) are honoured by default; when false both are
  // ignored, as by a service without those extensions.
  void set_sort_and_query(bool honoured);
  // Whether responses carry `numberMatched` and `context.matched` (default both; Planetary
  // Computer sends neither), and a count added to both (to model a count that overstates what
  // can be fetched).
  void set_number_matched(bool reported);
  void set_context_matched(bool reported);
  void set_matched_overcount(int extra);
  int item_count() const;

  // --- Token service and signing ---
  void set_require_signing(bool required);                 // blobs need ?<token>; default false
  void set_required_key(std::optional<std::string> key);   // token service needs this key
  void set_token_lifetime(std::chrono::seconds lifetime);  // default 1 h
  void expire_all_tokens();  // every token issued so far answers 403 from now on
  int tokens_issued() const;
  // Every token issued and not yet expired (the full query string, without a leading '?').
  std::vector<std::string> valid_tokens() const;

  // --- Static files ---
  void serve_directory(const std::filesystem::path& root);  // /blob/<p> -> root/<p>
  // Latency added to every request (e.g. to model a remote object store).
  void set_latency(std::chrono::milliseconds latency);

  // --- Faults: route prefix such as "/stac/search", "/token", "/blob/T33UUP/B04.tif" ---
  void inject(const std::string& route_prefix, Fault fault);
  void clear_faults();

  // --- What happened ---
  std::vector<RequestRecord> requests() const;
  void clear_requests();
  std::uint64_t bytes_sent(const std::string& route_prefix = "/") const;
  int request_count(const std::string& route_prefix = "/") const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace s2prep::testing
