#include "test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <httplib.h>
#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "core/time.hpp"

namespace s2prep::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

// A client error in a request: answered 400 with the message.
struct BadRequest : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What a route handler wants sent. Bodies go out through a fixed-length content provider so that
// httplib neither compresses them nor applies Range a second time, and so that HEAD can declare
// a length without reading the file.
struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::optional<std::uint64_t> head_length;  // HEAD: Content-Length without a body
  std::vector<std::pair<std::string, std::string>> headers;
};

Reply json_reply(const json& value, int status = 200) {
  Reply reply;
  reply.status = status;
  reply.body = value.dump();
  return reply;
}

Reply json_error(int status, const std::string& code, const std::string& description) {
  return json_reply(json{{"code", code}, {"description", description}}, status);
}

Reply azure_error(int status, const std::string& code, const std::string& message) {
  Reply reply;
  reply.status = status;
  reply.content_type = "application/xml";
  reply.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + code +
               "</Code><Message>" + message + "</Message></Error>";
  reply.headers.emplace_back("x-ms-error-code", code);
  return reply;
}

struct Box {
  double west = 0, south = 0, east = 0, north = 0;
};

// Longitude intervals with west > east cross the antimeridian (as STAC bboxes may).
bool lon_overlap(double aw, double ae, double bw, double be) {
  auto split = [](double w, double e) {
    std::vector<std::pair<double, double>> parts;
    if (w <= e) {
      parts.emplace_back(w, e);
    } else {
      parts.emplace_back(w, 180.0);
      parts.emplace_back(-180.0, e);
    }
    return parts;
  };
  for (const auto& [w1, e1] : split(aw, ae)) {
    for (const auto& [w2, e2] : split(bw, be)) {
      if (w1 <= e2 && w2 <= e1) return true;
    }
  }
  return false;
}

bool overlaps(const Box& a, const Box& b) {
  return a.south <= b.north && b.south <= a.north && lon_overlap(a.west, a.east, b.west, b.east);
}

Box bbox_from_array(const json& array, const std::string& what) {
  if (!array.is_array() || (array.size() != 4 && array.size() != 6)) {
    throw BadRequest(what + " must be an array of 4 or 6 numbers");
  }
  for (const auto& v : array) {
    if (!v.is_number()) throw BadRequest(what + " must contain only numbers");
  }
  const bool three_d = array.size() == 6;
  return Box{array[0].get<double>(), array[1].get<double>(), array[three_d ? 3 : 2].get<double>(),
             array[three_d ? 4 : 3].get<double>()};
}

void extend_with_coordinates(const json& coordinates, Box& box, bool& any) {
  if (!coordinates.is_array()) throw BadRequest("geometry coordinates must be arrays");
  if (coordinates.size() >= 2 && coordinates[0].is_number()) {
    if (!coordinates[1].is_number()) throw BadRequest("a position must hold numbers");
    const double x = coordinates[0].get<double>();
    const double y = coordinates[1].get<double>();
    if (!any) {
      box = Box{x, y, x, y};
      any = true;
    } else {
      box = Box{std::min(box.west, x), std::min(box.south, y), std::max(box.east, x),
                std::max(box.north, y)};
    }
    return;
  }
  for (const auto& child : coordinates) extend_with_coordinates(child, box, any);
}

void extend_with_geometry(const json& geometry, Box& box, bool& any) {
  if (!geometry.is_object() || !geometry.contains("type")) {
    throw BadRequest("intersects must be a GeoJSON geometry object");
  }
  if (geometry.contains("geometries")) {
    for (const auto& child : geometry.at("geometries")) extend_with_geometry(child, box, any);
    return;
  }
  if (!geometry.contains("coordinates")) throw BadRequest("the geometry has no coordinates");
  extend_with_coordinates(geometry.at("coordinates"), box, any);
}

std::optional<Box> geometry_bbox(const json& geometry) {
  Box box;
  bool any = false;
  extend_with_geometry(geometry, box, any);
  if (!any) return std::nullopt;
  return box;
}

struct Interval {
  std::optional<TimePoint> start;
  std::optional<TimePoint> end;
};

Interval parse_interval(const std::string& text) {
  auto parse_end = [&](const std::string& part) -> std::optional<TimePoint> {
    if (part.empty() || part == "..") return std::nullopt;
    auto t = parse_time(part);
    if (!t) throw BadRequest("datetime '" + text + "' is not an RFC 3339 instant or interval");
    return t;
  };
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    auto t = parse_end(text);
    if (!t) throw BadRequest("datetime must not be empty");
    return Interval{t, t};
  }
  return Interval{parse_end(text.substr(0, slash)), parse_end(text.substr(slash + 1))};
}

std::optional<TimePoint> item_time(const json& item) {
  const auto props = item.find("properties");
  if (props == item.end() || !props->is_object()) return std::nullopt;
  for (const char* key : {"datetime", "start_datetime"}) {
    auto it = props->find(key);
    if (it != props->end() && it->is_string()) return parse_time(it->get<std::string>());
  }
  return std::nullopt;
}

std::optional<Box> item_bbox(const json& item) {
  auto it = item.find("bbox");
  if (it != item.end() && it->is_array()) return bbox_from_array(*it, "the item's bbox");
  auto geometry = item.find("geometry");
  if (geometry != item.end() && geometry->is_object()) return geometry_bbox(*geometry);
  return std::nullopt;
}

// The parsed parameters of one search, from a POST body or GET query parameters.
struct SearchQuery {
  json body = json::object();  // as received (POST) or rebuilt from the query (GET)
  std::optional<std::vector<std::string>> collections;
  std::optional<Box> box;
  std::optional<Interval> interval;
  int limit = 10;
  std::optional<std::string> token;
  // sortby: (field, ascending), most significant first; fields "id" and "datetime".
  std::vector<std::pair<std::string, bool>> sortby;
  // query extension: (property, operator, value); property "id" is the Item's id.
  std::vector<std::tuple<std::string, std::string, json>> conditions;
};

// The query extension's comparisons. A missing property or a value of another type never
// matches, as in a SQL comparison with NULL.
bool satisfies(const json& item, const std::string& property, const std::string& op,
               const json& value) {
  json actual;
  if (property == "id") {
    actual = item.value("id", "");
  } else {
    const auto properties = item.find("properties");
    if (properties == item.end() || !properties->is_object()) return false;
    const auto it = properties->find(property);
    if (it == properties->end()) return false;
    actual = *it;
  }
  const bool numbers = actual.is_number() && value.is_number();
  if (!numbers && !(actual.is_string() && value.is_string())) return op == "neq";
  int order = 0;
  if (numbers) {
    const double a = actual.get<double>(), b = value.get<double>();
    order = a < b ? -1 : (a > b ? 1 : 0);
  } else {
    const int c = actual.get<std::string>().compare(value.get<std::string>());
    order = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (op == "eq") return order == 0;
  if (op == "neq") return order != 0;
  if (op == "lt") return order < 0;
  if (op == "lte") return order <= 0;
  if (op == "gt") return order > 0;
  return order >= 0;  // gte (the operators were checked when the query was parsed)
}

SearchQuery parse_search_body(const json& body) {
  if (!body.is_object()) throw BadRequest("the search body must be a JSON object");
  SearchQuery query;
  query.body = body;
  if (auto it = body.find("collections"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) throw BadRequest("collections must be an array of strings");
    std::vector<std::string> names;
    for (const auto& c : *it) {
      if (!c.is_string()) throw BadRequest("collections must be an array of strings");
      names.push_back(c.get<std::string>());
    }
    query.collections = names;
  }
  const bool has_bbox = body.contains("bbox") && !body.at("bbox").is_null();
  const bool has_intersects = body.contains("intersects") && !body.at("intersects").is_null();
  if (has_bbox && has_intersects) throw BadRequest("bbox and intersects cannot both be given");
  if (has_bbox) query.box = bbox_from_array(body.at("bbox"), "bbox");
  if (has_intersects) {
    query.box = geometry_bbox(body.at("intersects"));
    if (!query.box) throw BadRequest("intersects has no positions");
  }
  if (auto it = body.find("datetime"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) throw BadRequest("datetime must be a string");
    query.interval = parse_interval(it->get<std::string>());
  }
  if (auto it = body.find("limit"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > 1000000) {
      throw BadRequest("limit must be a positive integer");
    }
    query.limit = static_cast<int>(it->get<long long>());
  }
  if (auto it = body.find("token"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) throw BadRequest("token must be a string");
    query.token = it->get<std::string>();
  }
  if (auto it = body.find("sortby"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) throw BadRequest("sortby must be an array");
    for (const auto& s : *it) {
      if (!s.is_object() || !s.contains("field") || !s["field"].is_string()) {
        throw BadRequest("sortby entries must be objects with a field");
      }
      std::string field = s["field"].get<std::string>();
      if (field == "properties.datetime") field = "datetime";
      if (field != "id" && field != "datetime") {
        throw BadRequest("sortby supports the fields id and datetime only");
      }
      const std::string direction = s.value("direction", "asc");
      if (direction != "asc" && direction != "desc") {
        throw BadRequest("sortby direction must be asc or desc");
      }
      query.sortby.emplace_back(field, direction == "asc");
    }
  }
  if (auto it = body.find("query"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) throw BadRequest("query must be an object");
    for (const auto& [property, ops] : it->items()) {
      if (!ops.is_object()) throw BadRequest("query." + property + " must be an object");
      for (const auto& [op, value] : ops.items()) {
        static const std::set<std::string> known{"eq", "neq", "lt", "lte", "gt", "gte"};
        if (!known.count(op)) throw BadRequest("query operator " + op + " is not supported");
        query.conditions.emplace_back(property, op, value);
      }
    }
  }
  return query;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

// GET /search: the same parameters as query strings (collections and bbox comma-separated,
// intersects as GeoJSON text).
json body_from_params(const httplib::Request& req) {
  json body = json::object();
  if (req.has_param("collections")) {
    body["collections"] = split(req.get_param_value("collections"), ',');
  }
  if (req.has_param("bbox")) {
    json numbers = json::array();
    for (const auto& part : split(req.get_param_value("bbox"), ',')) {
      try {
        std::size_t used = 0;
        numbers.push_back(std::stod(part, &used));
        if (used != part.size()) throw std::invalid_argument(part);
      } catch (const std::exception&) {
        throw BadRequest("bbox must be comma-separated numbers");
      }
    }
    body["bbox"] = numbers;
  }
  if (req.has_param("intersects")) {
    try {
      body["intersects"] = json::parse(req.get_param_value("intersects"));
    } catch (const json::exception&) {
      throw BadRequest("intersects is not valid JSON");
    }
  }
  if (req.has_param("datetime")) body["datetime"] = req.get_param_value("datetime");
  if (req.has_param("limit")) {
    const auto text = req.get_param_value("limit");
    try {
      std::size_t used = 0;
      body["limit"] = std::stoll(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      throw BadRequest("limit must be a positive integer");
    }
  }
  if (req.has_param("token")) body["token"] = req.get_param_value("token");
  return body;
}

std::string percent_encode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string query_from_body(const json& body) {
  std::string query;
  auto add = [&](const std::string& key, const std::string& value) {
    if (!query.empty()) query += '&';
    query += key + "=" + percent_encode(value);
  };
  for (const auto& [key, value] : body.items()) {
    if (key == "collections" || key == "bbox") {
      std::string joined;
      for (const auto& v : value) {
        if (!joined.empty()) joined += ',';
        joined += v.is_string() ? v.get<std::string>() : v.dump();
      }
      add(key, joined);
    } else if (value.is_string()) {
      add(key, value.get<std::string>());
    } else {
      add(key, value.dump());
    }
  }
  return query;
}

std::string format_seconds(Clock::time_point t) {
  return format_time(std::chrono::time_point_cast<std::chrono::seconds>(t));
}

std::string content_type_for(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".tif" || ext == ".tiff") return "image/tiff";
  if (ext == ".jp2") return "image/jp2";
  if (ext == ".json") return "application/json";
  if (ext == ".xml") return "application/xml";
  if (ext == ".png") return "image/png";
  return "application/octet-stream";
}

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

// RFC 9110 byte ranges. Returns nullopt when the header is not a bytes range set (then the whole
// file is served, as the RFC allows); an empty vector when no range is satisfiable.
std::optional<std::vector<ByteRange>> parse_ranges(const std::string& header, std::uint64_t size) {
  const std::string prefix = "bytes=";
  if (header.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  std::vector<ByteRange> ranges;
  for (std::string spec : split(header.substr(prefix.size()), ',')) {
    spec.erase(0, spec.find_first_not_of(" \t"));
    spec.erase(spec.find_last_not_of(" \t") + 1);
    const auto dash = spec.find('-');
    if (dash == std::string::npos) return std::nullopt;
    const std::string a = spec.substr(0, dash);
    const std::string b = spec.substr(dash + 1);
    auto number = [](const std::string& s) -> std::optional<std::uint64_t> {
      if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
      return std::stoull(s);
    };
    if (a.empty()) {  // suffix range: the last b bytes
      auto n = number(b);
      if (!n) return std::nullopt;
      if (*n == 0 || size == 0) continue;
      ranges.push_back({size - std::min(*n, size), size - 1});
      continue;
    }
    auto first = number(a);
    if (!first) return std::nullopt;
    std::uint64_t last = size == 0 ? 0 : size - 1;
    if (!b.empty()) {
      auto l = number(b);
      if (!l || *l < *first) return std::nullopt;
      last = std::min(*l, last);
    }
    if (*first >= size) continue;  // unsatisfiable; others may still be
    ranges.push_back({*first, last});
  }
  return ranges;
}

std::string read_bytes(const std::filesystem::path& path, std::uint64_t offset,
                       std::uint64_t length) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string data(length, '\0');
  in.read(data.data(), static_cast<std::streamsize>(length));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}

// httplib does not expose a connection's socket to handlers, yet a dropped connection must look
// to the client like a peer that vanished. The socket is found among this process's descriptors
// by the request's own local and peer ports, and shut down; httplib's later write then fails and
// it closes the descriptor it owns.
void shut_down_connection(const httplib::Request& req) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    sockaddr_in local{};
    sockaddr_in peer{};
    socklen_t local_len = sizeof(local);
    socklen_t peer_len = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        local.sin_family != AF_INET || ntohs(local.sin_port) != req.local_port) {
      continue;
    }
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0 ||
        ntohs(peer.sin_port) != req.remote_port) {
      continue;
    }
    ::shutdown(fd, SHUT_RDWR);
    return;
  }
}

}  // namespace

struct TestServer::Impl {
  httplib::Server http;
  std::thread thread;
  int port = 0;

  mutable std::mutex mutex;  // guards everything below
  std::vector<json> items;
  int max_page_size = 100;
  bool paging_links = true;
  bool next_full_body = false;
  bool sort_and_query = true;
  bool number_matched = true;
  bool context_matched = true;
  int matched_overcount = 0;
  bool require_signing = false;
  std::optional<std::string> required_key;
  std::chrono::seconds token_lifetime{3600};
  std::map<std::string, std::pair<Clock::time_point, std::string>> tokens;  // sig -> expiry, token
  int tokens_issued = 0;
  std::filesystem::path root;
  std::chrono::milliseconds latency{0};
  std::vector<std::pair<std::string, std::deque<Fault>>> faults;  // in order of first injection
  std::vector<RequestRecord> log;
  std::mt19937_64 random{std::random_device{}()};

  std::string random_text(std::size_t n, const std::string& alphabet) {
    std::string out;
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    for (std::size_t i = 0; i < n; ++i) out += alphabet[pick(random)];
    return out;
  }

  std::optional<Fault> take_fault(const std::string& path) {
    std::lock_guard lock(mutex);
    std::deque<Fault>* best = nullptr;
    std::size_t best_length = 0;
    for (auto& [prefix, queue] : faults) {
      if (queue.empty() || path.compare(0, prefix.size(), prefix) != 0) continue;
      if (best == nullptr || prefix.size() > best_length) {
        best = &queue;
        best_length = prefix.size();
      }
    }
    if (best == nullptr) return std::nullopt;
    Fault fault = best->front();
    if (--best->front().count <= 0) best->pop_front();
    return fault;
  }

  // Every route goes through here: latency, faults, logging and the response itself.
  void serve(const httplib::Request& req, httplib::Response& res,
             const std::function<Reply(const httplib::Request&)>& handler) {
    // This server answers Range itself; without this httplib would slice the body again.
    const_cast<httplib::Request&>(req).ranges.clear();
    RequestRecord record;
    record.method = req.method;
    record.path = req.path;
    if (auto q = req.target.find('?'); q != std::string::npos) {
      record.query = req.target.substr(q + 1);
    }
    record.body = req.body;
    record.headers.assign(req.headers.begin(), req.headers.end());

    std::chrono::milliseconds wait;
    {
      std::lock_guard lock(mutex);
      wait = latency;
    }
    if (wait.count() > 0) std::this_thread::sleep_for(wait);

    const std::optional<Fault> fault = take_fault(req.path);
    if (fault && fault->delay.count() > 0) std::this_thread::sleep_for(fault->delay);

    if (fault && fault->drop_connection) {
      // Logged before the drop: the client retries at once, and its next request must not be
      // counted before this one.
      record.status = 0;
      append(std::move(record));
      shut_down_connection(req);
      res.status = 500;
      return;
    }

    Reply reply;
    if (fault && !fault->redirect_to.empty()) {
      reply.status = fault->redirect_status;
      reply.headers.emplace_back("Location", fault->redirect_to);
    } else if (fault && fault->status != 0) {
      // Blob faults look like Azure Storage's (503 is its egress-limit "ServerBusy").
      if (req.path.compare(0, 6, "/blob/") == 0) {
        reply = azure_error(fault->status, fault->status == 503 ? "ServerBusy" : "InjectedFault",
                            "Fault injected by the test server.");
      } else {
        reply = json_error(fault->status, "InjectedFault", "fault injected by the test server");
      }
      if (fault->retry_after) {
        reply.headers.emplace_back("Retry-After", std::to_string(*fault->retry_after));
      }
    } else {
      try {
        reply = handler(req);
      } catch (const BadRequest& e) {
        reply = json_error(400, "BadRequest", e.what());
      } catch (const std::exception& e) {
        reply = json_error(500, "ServerError", e.what());
      }
    }

    res.status = reply.status;
    for (const auto& [key, value] : reply.headers) res.set_header(key, value);
    record.status = reply.status;
    const bool head = req.method == "HEAD";
    const bool truncate = fault && fault->truncate_body;

    if (head && reply.head_length) {
      // httplib never calls the provider for HEAD; it only declares the length.
      res.set_content_provider(static_cast<std::size_t>(*reply.head_length), reply.content_type,
                               [](std::size_t, std::size_t, httplib::DataSink&) { return true; });
    } else if (reply.body.empty() && !truncate) {
      res.set_content("", reply.content_type);
    } else {
      auto body = std::make_shared<std::string>(std::move(reply.body));
      // A truncated body declares its full length (at least one byte) but sends only half.
      const std::size_t declared = std::max<std::size_t>(body->size(), truncate ? 1 : 0);
      const std::size_t sent = truncate ? body->size() / 2 : body->size();
      record.bytes_sent = head ? 0 : sent;
      const auto drip = fault ? fault->drip_interval : std::chrono::milliseconds(0);
      const std::size_t drip_bytes = fault ? std::max<std::size_t>(1, fault->drip_bytes) : 1;
      res.set_content_provider(
          declared, reply.content_type,
          [body, sent, truncate, drip, drip_bytes, &req](std::size_t offset, std::size_t length,
                                                         httplib::DataSink& sink) {
            if (offset < sent) {
              std::size_t n = std::min(length, sent - offset);
              if (drip.count() > 0) {
                std::this_thread::sleep_for(drip);
                n = std::min(n, drip_bytes);
              }
              if (!sink.write(body->data() + offset, n)) return false;
              if (offset + n < sent || !truncate) return true;
            }
            // Make sure the peer sees the connection end rather than waiting
            // for the rest.
            shut_down_connection(req);
            return false;
          });
    }
    append(std::move(record));
  }

  void append(RequestRecord record) {
    std::lock_guard lock(mutex);
    log.push_back(std::move(record));
  }

  std::string stac_base() const { return "http://127.0.0.1:" + std::to_string(port) + "/stac"; }

  Reply landing_page() const {
    const std::string base = stac_base();
    json links = json::array({
        {{"rel", "self"}, {"type", "application/json"}, {"href", base}},
        {{"rel", "root"}, {"type", "application/json"}, {"href", base}},
        {{"rel", "data"}, {"type", "application/json"}, {"href", base + "/collections"}},
        {{"rel", "search"},
         {"type", "application/geo+json"},
         {"href", base + "/search"},
         {"method", "GET"}},
        {{"rel", "search"},
         {"type", "application/geo+json"},
         {"href", base + "/search"},
         {"method", "POST"}},
    });
    for (const auto& id : collection_ids()) {
      links.push_back(
          {{"rel", "child"}, {"type", "application/json"}, {"href", base + "/collections/" + id}});
    }
    return json_reply(
        {{"type", "Catalog"},
         {"id", "s2prep-test-server"},
         {"stac_version", "1.0.0"},
         {"title", "s2prep local test server"},
         {"description", "An in-process STAC API for tests."},
         {"conformsTo",
          {"https://api.stacspec.org/v1.0.0/core", "https://api.stacspec.org/v1.0.0/item-search",
           "https://api.stacspec.org/v1.0.0/collections"}},
         {"links", links}});
  }

  std::vector<std::string> collection_ids() const {
    std::lock_guard lock(mutex);
    std::vector<std::string> ids;
    for (const auto& item : items) {
      if (auto it = item.find("collection"); it != item.end() && it->is_string()) {
        const auto id = it->get<std::string>();
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
      }
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  json collection_document(const std::string& id) const {
    const std::string base = stac_base();
    return {{"type", "Collection"},
            {"id", id},
            {"stac_version", "1.0.0"},
            {"description", "Items served by the s2prep test server."},
            {"license", "proprietary"},
            {"extent",
             {{"spatial", {{"bbox", {{-180, -90, 180, 90}}}}},
              {"temporal", {{"interval", {{nullptr, nullptr}}}}}}},
            {"links",
             {{{"rel", "self"}, {"href", base + "/collections/" + id}},
              {{"rel", "root"}, {"href", base}},
              {{"rel", "items"}, {"href", base + "/collections/" + id + "/items"}}}}};
  }

  Reply collections() const {
    json list = json::array();
    for (const auto& id : collection_ids()) list.push_back(collection_document(id));
    return json_reply({{"collections", list}, {"links", json::array()}});
  }

  Reply collection(const std::string& id) const {
    const auto ids = collection_ids();
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
      return json_error(404, "NotFoundError", "no collection '" + id + "'");
    }
    return json_reply(collection_document(id));
  }

  Reply search(const SearchQuery& query, bool post) const {
    struct Match {
      TimePoint time;
      std::string id;
      const json* item;
    };
    std::vector<json> pool;
    int page_cap = 0;
    bool links_enabled = false;
    bool full_body = false;
    bool honour_sort_and_query = true;
    bool with_number_matched = true, with_context_matched = true;
    int overcount = 0;
    {
      std::lock_guard lock(mutex);
      pool = items;
      page_cap = max_page_size;
      links_enabled = paging_links;
      full_body = next_full_body;
      honour_sort_and_query = sort_and_query;
      with_number_matched = number_matched;
      with_context_matched = context_matched;
      overcount = matched_overcount;
    }
    std::vector<Match> matches;
    for (const auto& item : pool) {
      const std::string collection = item.value("collection", "");
      if (query.collections && std::find(query.collections->begin(), query.collections->end(),
                                         collection) == query.collections->end()) {
        continue;
      }
      if (query.box) {
        const auto box = item_bbox(item);
        if (!box || !overlaps(*box, *query.box)) continue;
      }
      const auto time = item_time(item);
      if (query.interval) {
        if (!time) continue;
        if (query.interval->start && *time < *query.interval->start) continue;
        if (query.interval->end && *time > *query.interval->end) continue;
      }
      if (honour_sort_and_query &&
          !std::all_of(query.conditions.begin(), query.conditions.end(), [&](const auto& c) {
            return satisfies(item, std::get<0>(c), std::get<1>(c), std::get<2>(c));
          })) {
        continue;
      }
      matches.push_back({time.value_or(TimePoint{}), item.value("id", ""), &item});
    }
    std::stable_sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
      return a.time != b.time ? a.time < b.time : a.id < b.id;
    });
    if (honour_sort_and_query && !query.sortby.empty()) {
      std::stable_sort(matches.begin(), matches.end(), [&](const Match& a, const Match& b) {
        for (const auto& [field, ascending] : query.sortby) {
          const int c = field == "id" ? a.id.compare(b.id)
                                      : (a.time < b.time ? -1 : (a.time > b.time ? 1 : 0));
          if (c != 0) return ascending ? c < 0 : c > 0;
        }
        return false;
      });
    }

    std::size_t start = 0;
    if (query.token) {
      // Planetary Computer's form: "next:<collection>:<id of the last item returned>".
      const std::string prefix = "next:";
      bool found = false;
      if (query.token->compare(0, prefix.size(), prefix) == 0) {
        const std::string key = query.token->substr(prefix.size());
        for (std::size_t i = 0; i < matches.size(); ++i) {
          if (matches[i].item->value("collection", "") + ":" + matches[i].id == key) {
            start = i + 1;
            found = true;
            break;
          }
        }
      }
      if (!found) throw BadRequest("the paging token is unknown");
    }
    const std::size_t page = static_cast<std::size_t>(std::min(query.limit, page_cap));
    const std::size_t end = std::min(matches.size(), start + page);

    json features = json::array();
    for (std::size_t i = start; i < end; ++i) features.push_back(*matches[i].item);

    const std::string search_url = stac_base() + "/search";
    json links = json::array();
    if (links_enabled && end < matches.size() && end > start) {
      const auto& last = matches[end - 1];
      const std::string token = "next:" + last.item->value("collection", "") + ":" + last.id;
      json link = {{"rel", "next"}, {"type", "application/geo+json"}};
      if (post) {
        link["method"] = "POST";
        link["href"] = search_url;
        if (full_body) {
          json body = query.body;
          body["token"] = token;
          link["body"] = body;
        } else {
          link["body"] = {{"token", token}};
          link["merge"] = true;
        }
      } else {
        json body = query.body;
        body["token"] = token;
        link["method"] = "GET";
        link["href"] = search_url + "?" + query_from_body(body);
      }
      links.push_back(link);
    }
    links.push_back({{"rel", "root"}, {"type", "application/json"}, {"href", stac_base()}});
    links.push_back({{"rel", "self"}, {"type", "application/json"}, {"href", search_url}});

    const auto returned = static_cast<int>(end - start);
    const auto matched = static_cast<int>(matches.size()) + overcount;
    json reply = {{"type", "FeatureCollection"},
                  {"features", features},
                  {"links", links},
                  {"numberReturned", returned},
                  {"context", {{"limit", static_cast<int>(page)}, {"returned", returned}}}};
    if (with_number_matched) reply["numberMatched"] = matched;
    if (with_context_matched) reply["context"]["matched"] = matched;
    return json_reply(reply);
  }

  // One token serves every collection here: signing is checked, not scoped.
  Reply issue_token(const httplib::Request& req) {
    std::lock_guard lock(mutex);
    if (required_key) {
      if (!req.has_header("Ocp-Apim-Subscription-Key") ||
          req.get_header_value("Ocp-Apim-Subscription-Key") != *required_key) {
        return json_reply({{"statusCode", 401},
                           {"message",
                            "Access denied due to missing or invalid subscription key. Make sure "
                            "to provide a valid key for an active subscription."}},
                          401);
      }
    }
    const auto now = Clock::now();
    const auto expiry = now + token_lifetime;
    static const std::string kBase64 =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const std::string kHex = "0123456789abcdef";
    // A signature looks like URL-encoded base64, so clients must not re-encode the token.
    const std::string sig = random_text(43, kBase64) + "=";
    const std::string skoid = random_text(8, kHex) + "-" + random_text(4, kHex) + "-" +
                              random_text(4, kHex) + "-" + random_text(4, kHex) + "-" +
                              random_text(12, kHex);
    const std::string token = "st=" + percent_encode(format_seconds(now)) +
                              "&se=" + percent_encode(format_seconds(expiry)) +
                              "&sp=rl&sv=2021-06-08&sr=c&skoid=" + skoid +
                              "&sktid=" + random_text(8, kHex) + "&sig=" + percent_encode(sig);
    tokens[sig] = {expiry, token};
    ++tokens_issued;
    return json_reply({{"msft:expiry", format_seconds(expiry)}, {"token", token}});
  }

  Reply blob(const httplib::Request& req, const std::string& relative) {
    std::filesystem::path base;
    {
      std::lock_guard lock(mutex);
      base = root;
      if (require_signing) {
        const std::string sig = req.has_param("sig") ? req.get_param_value("sig") : "";
        auto it = tokens.find(sig);
        if (sig.empty() || it == tokens.end() || Clock::now() >= it->second.first) {
          return azure_error(403, "AuthenticationFailed",
                             "Server failed to authenticate the request. Make sure the value of "
                             "Authorization header is formed correctly including the signature.");
        }
      }
    }
    if (base.empty()) {
      return azure_error(404, "ContainerNotFound", "The specified container does not exist.");
    }
    const std::filesystem::path rel(relative);
    bool safe = !relative.empty() && rel.is_relative();
    for (const auto& part : rel) {
      if (part == ".." || part == ".") safe = false;
    }
    std::error_code ec;
    const auto path = base / rel;
    if (safe) {
      const auto canonical_root = std::filesystem::weakly_canonical(base, ec);
      const auto canonical = std::filesystem::weakly_canonical(path, ec);
      const auto mismatch = std::mismatch(canonical_root.begin(), canonical_root.end(),
                                          canonical.begin(), canonical.end());
      safe = !ec && mismatch.first == canonical_root.end();
    }
    if (!safe)
      return azure_error(400, "InvalidUri", "The requested URI does not represent a blob.");
    if (!std::filesystem::is_regular_file(path, ec)) {
      return azure_error(404, "BlobNotFound", "The specified blob does not exist.");
    }
    const std::uint64_t size = std::filesystem::file_size(path, ec);
    const std::string type = content_type_for(path);
    const bool head = req.method == "HEAD";

    Reply reply;
    reply.content_type = type;
    reply.headers.emplace_back("Accept-Ranges", "bytes");
    reply.headers.emplace_back("x-ms-blob-type", "BlockBlob");
    auto ranges =
        req.has_header("Range") ? parse_ranges(req.get_header_value("Range"), size) : std::nullopt;
    if (!ranges) {
      if (head) {
        reply.head_length = size;
      } else {
        reply.body = read_bytes(path, 0, size);
      }
      return reply;
    }
    if (ranges->empty()) {
      Reply refused = azure_error(416, "InvalidRange",
                                  "The range specified is invalid for the "
                                  "current size of the resource.");
      refused.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      return refused;
    }
    reply.status = 206;
    auto content_range = [&](const ByteRange& r) {
      return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
             std::to_string(size);
    };
    if (ranges->size() == 1) {
      const auto& r = ranges->front();
      reply.headers.emplace_back("Content-Range", content_range(r));
      if (head) {
        reply.head_length = r.last - r.first + 1;
      } else {
        reply.body = read_bytes(path, r.first, r.last - r.first + 1);
      }
      return reply;
    }
    std::string boundary;
    {
      std::lock_guard lock(mutex);
      boundary = "s2prep_" + random_text(24, "0123456789abcdef");
    }
    reply.content_type = "multipart/byteranges; boundary=" + boundary;
    for (const auto& r : *ranges) {
      reply.body += "--" + boundary + "\r\nContent-Type: " + type +
                    "\r\nContent-Range: " + content_range(r) + "\r\n\r\n";
      reply.body += read_bytes(path, r.first, r.last - r.first + 1);
      reply.body += "\r\n";
    }
    reply.body += "--" + boundary + "--\r\n";
    if (head) {
      reply.head_length = reply.body.size();
      reply.body.clear();
    }
    return reply;
  }
};

TestServer::TestServer() : impl_(std::make_unique<Impl>()) {
  Impl& impl = *impl_;
  auto& http = impl.http;
  // Short keep-alive so that a destructor never waits long for an idle client connection.
  http.set_keep_alive_timeout(2);

  auto route = [&impl](std::function<Reply(const httplib::Request&)> handler) {
    return
        [&impl, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
          impl.serve(req, res, handler);
        };
  };

  http.Get("/stac/?", route([&impl](const httplib::Request&) { return impl.landing_page(); }));
  http.Get("/stac/collections/?",
           route([&impl](const httplib::Request&) { return impl.collections(); }));
  http.Get("/stac/collections/([^/]+)/?",
           route([&impl](const httplib::Request& req) { return impl.collection(req.matches[1]); }));
  http.Post("/stac/search/?", route([&impl](const httplib::Request& req) {
              json body;
              try {
                // An empty body is an empty search, as real services take it.
                body = req.body.empty() ? json::object() : json::parse(req.body);
              } catch (const json::exception&) {
                throw BadRequest("the search body is not valid JSON");
              }
              return impl.search(parse_search_body(body), true);
            }));
  http.Get("/stac/search/?", route([&impl](const httplib::Request& req) {
             return impl.search(parse_search_body(body_from_params(req)), false);
           }));
  http.Get("/token/([^/]+)/?",
           route([&impl](const httplib::Request& req) { return impl.issue_token(req); }));
  http.Get("/blob/(.+)",
           route([&impl](const httplib::Request& req) { return impl.blob(req, req.matches[1]); }));
  auto not_found = route([](const httplib::Request& req) {
    return json_error(404, "NotFound", "no route for " + req.method + " " + req.path);
  });
  http.Get("/.*", not_found);
  http.Post("/.*", not_found);

  impl.port = http.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("the test server could not bind 127.0.0.1");
  impl.thread = std::thread([&http] { http.listen_after_bind(); });
  // Requests may only be made once the accept loop runs.
  while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TestServer::~TestServer() {
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int TestServer::port() const { return impl_->port; }
std::string TestServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}
std::string TestServer::stac_url() const { return base_url() + "/stac"; }
std::string TestServer::token_url() const { return base_url() + "/token"; }
std::string TestServer::blob_url(const std::string& relative_path) const {
  return base_url() + "/blob/" + relative_path;
}

void TestServer::add_item(nlohmann::json item) {
  std::lock_guard lock(impl_->mutex);
  impl_->items.push_back(std::move(item));
}
void TestServer::clear_items() {
  std::lock_guard lock(impl_->mutex);
  impl_->items.clear();
}
int TestServer::item_count() const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<int>(impl_->items.size());
}
void TestServer::set_max_page_size(int n) {
  std::lock_guard lock(impl_->mutex);
  impl_->max_page_size = std::max(1, n);
}
void TestServer::set_sort_and_query(bool honoured) {
  std::lock_guard lock(impl_->mutex);
  impl_->sort_and_query = honoured;
}

void TestServer::set_number_matched(bool reported) {
  std::lock_guard lock(impl_->mutex);
  impl_->number_matched = reported;
}

void TestServer::set_context_matched(bool reported) {
  std::lock_guard lock(impl_->mutex);
  impl_->context_matched = reported;
}

void TestServer::set_matched_overcount(int extra) {
  std::lock_guard lock(impl_->mutex);
  impl_->matched_overcount = extra;
}

void TestServer::set_paging_links(bool enabled) {
  std::lock_guard lock(impl_->mutex);
  impl_->paging_links = enabled;
}
void TestServer::set_next_link_full_body(bool full_body) {
  std::lock_guard lock(impl_->mutex);
  impl_->next_full_body = full_body;
}

void TestServer::set_require_signing(bool required) {
  std::lock_guard lock(impl_->mutex);
  impl_->require_signing = required;
}
void TestServer::set_required_key(std::optional<std::string> key) {
  std::lock_guard lock(impl_->mutex);
  impl_->required_key = std::move(key);
}
void TestServer::set_token_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(impl_->mutex);
  impl_->token_lifetime = lifetime;
}
void TestServer::expire_all_tokens() {
  std::lock_guard lock(impl_->mutex);
  const auto now = Clock::now();
  for (auto& [sig, entry] : impl_->tokens) entry.first = std::min(entry.first, now);
}
int TestServer::tokens_issued() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->tokens_issued;
}
std::vector<std::string> TestServer::valid_tokens() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> out;
  const auto now = Clock::now();
  for (const auto& [sig, entry] : impl_->tokens) {
    if (now < entry.first) out.push_back(entry.second);
  }
  return out;
}

void TestServer::serve_directory(const std::filesystem::path& root) {
  std::lock_guard lock(impl_->mutex);
  impl_->root = root;
}
void TestServer::set_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(impl_->mutex);
  impl_->latency = latency;
}

void TestServer::inject(const std::string& route_prefix, Fault fault) {
  if (fault.count < 1) return;
  std::lock_guard lock(impl_->mutex);
  for (auto& [prefix, queue] : impl_->faults) {
    if (prefix == route_prefix) {
      queue.push_back(fault);
      return;
    }
  }
  impl_->faults.emplace_back(route_prefix, std::deque<Fault>{fault});
}
void TestServer::clear_faults() {
  std::lock_guard lock(impl_->mutex);
  impl_->faults.clear();
}

std::vector<RequestRecord> TestServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->log;
}
void TestServer::clear_requests() {
  std::lock_guard lock(impl_->mutex);
  impl_->log.clear();
}
std::uint64_t TestServer::bytes_sent(const std::string& route_prefix) const {
  std::lock_guard lock(impl_->mutex);
  std::uint64_t total = 0;
  for (const auto& r : impl_->log) {
    if (r.path.compare(0, route_prefix.size(), route_prefix) == 0) total += r.bytes_sent;
  }
  return total;
}
int TestServer::request_count(const std::string& route_prefix) const {
  std::lock_guard lock(impl_->mutex);
  return static_cast<int>(std::count_if(impl_->log.begin(), impl_->log.end(), [&](const auto& r) {
    return r.path.compare(0, route_prefix.size(), route_prefix) == 0;
  }));
}

}  // namespace s2prep::testing
