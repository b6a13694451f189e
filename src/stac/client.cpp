#include "stac/client.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include <s2prep/errors.hpp>
#include "core/json_limits.hpp"
#include "stac/search_page.hpp"

namespace s2prep::stac {
namespace {

using nlohmann::json;

struct Page {
  std::string method;
  std::string url;
  json body;  // POST only

  std::string key() const {
    return method + ' ' + url + ' ' + (method == "POST" ? body.dump() : "");
  }
};

// What the continuation needs of each item received, in the order received.
struct Seen {
  std::string id;
  TimePoint datetime{};
  std::string datetime_text;
};

// The pages of one query: its first page and those its `next` links lead to.
struct Chain {
  enum class End { kEmptyPage, kNoNextLink, kStopped };
  End end = End::kStopped;
  std::vector<Seen> received;
  std::size_t added = 0;      // items not received before in this search
  std::size_t last_page = 0;  // items on the chain's last non-empty page
  std::optional<long long> matched;
};

bool ids_increasing(const std::vector<Seen>& s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (!(s[i - 1].id < s[i].id)) return false;
  }
  return true;
}

// +1: datetimes never decrease, -1: never increase, 0: neither (a single datetime is both; +1).
int time_order(const std::vector<Seen>& s) {
  bool up = true, down = true;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i].datetime < s[i - 1].datetime) up = false;
    if (s[i].datetime > s[i - 1].datetime) down = false;
  }
  return up ? 1 : (down ? -1 : 0);
}

bool in_time_order(const std::vector<Seen>& s, int direction) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (direction * (s[i].datetime - s[i - 1].datetime).count() < 0) return false;
  }
  return true;
}

class SearchRun {
 public:
  SearchRun(const std::string& root_url, net::HttpClient& http, const net::Headers& secret_headers,
            int max_pages, const SearchRequest& request, std::stop_token stop)
      : stop_(std::move(stop)),
        url_(root_url + "/search"),
        http_(http),
        secret_headers_(secret_headers),
        max_pages_(max_pages),
        request_(request),
        base_(request.to_json()) {}

  SearchResult run();
  int pages() const { return pages_; }

 private:
  Chain follow(Page page);
  void incomplete(std::string warning) {
    spdlog::warn("{}", warning);
    result_.complete = false;
    result_.warnings.push_back(std::move(warning));
  }
  std::string safe_url() const { return net::redact_url(url_); }
  net::HttpResponse fetch(const Page& page) {
    // A `next` link may point anywhere: the catalogue's credentials stay on its own origin.
    net::HttpRequest request{page.method, page.url, {}, {}, {}};
    if (net::same_origin(page.url, url_)) request.secret_headers = secret_headers_;
    if (page.method == "POST") {
      request.body = page.body.dump();
      request.headers.emplace_back("Content-Type", "application/json");
    }
    return http_.send(request);
  }

  std::stop_token stop_;
  std::string url_;
  net::HttpClient& http_;
  const net::Headers& secret_headers_;
  int max_pages_;
  const SearchRequest& request_;
  json base_;  // the first request's body (without sortby once the service rejected it)
  SearchResult result_;
  std::set<std::pair<std::string, std::string>> seen_items_;  // (collection, id)
  std::set<std::string> seen_pages_;
  std::size_t largest_page_ = 0;  // the largest page received: the service's page size is >= it
  int pages_ = 0;
};

Chain SearchRun::follow(Page page) {
  Chain chain;
  seen_pages_.insert(page.key());
  bool first = true;
  while (true) {
    if (stop_.stop_requested()) throw Cancelled("The catalogue search was stopped on request.");
    if (pages_ >= max_pages_) {
      incomplete(fmt::format(
          "The STAC search at {} stopped after {} requests (the page cap) with {} items; the "
          "result may be incomplete: narrow the region or time range.",
          safe_url(), max_pages_, result_.items.size()));
      return chain;
    }
    net::HttpResponse response = fetch(page);
    ++pages_;
    // A service without the sortby extension may reject it: search again in its own order.
    if (pages_ == 1 && (response.status == 400 || response.status == 422) &&
        page.body.contains("sortby")) {
      spdlog::info("The STAC search at {} rejected sorting by id (HTTP {}); searching unsorted",
                   safe_url(), response.status);
      page.body.erase("sortby");
      base_.erase("sortby");
      seen_pages_.insert(page.key());
      response = fetch(page);
      ++pages_;
    }
    net::require_success(response, page.url, "The STAC search",
                         "check --stac-url and the search parameters (collection, region, dates)");
    json doc;
    try {
      doc = parse_outside_json(response.body, kUnboundedDepth);  // items checked one by one
    } catch (const JsonProblem& e) {
      throw_malformed_search(page.url, fmt::format("a response that is {}", e.what()),
                             response.status);
    }
    SearchPage parsed = parse_search_page(doc, page.url, response.status);
    if (first) chain.matched = parsed.matched;
    first = false;
    if (parsed.items.empty()) {
      chain.end = Chain::End::kEmptyPage;
      return chain;
    }
    chain.last_page = parsed.items.size();
    largest_page_ = std::max(largest_page_, parsed.items.size());
    for (auto& item : parsed.items) {
      chain.received.push_back({item.id, item.datetime, item.datetime_text});
      if (!seen_items_.emplace(item.collection, item.id).second) continue;
      ++chain.added;
      result_.items.push_back(std::move(item));
      if (request_.max_items && static_cast<int>(result_.items.size()) >= *request_.max_items) {
        incomplete(
            fmt::format("The STAC search at {} stopped at the requested maximum of {} "
                        "items; more may match.",
                        safe_url(), *request_.max_items));
        return chain;
      }
    }
    if (!parsed.next) {
      chain.end = Chain::End::kNoNextLink;
      return chain;
    }
    Page following;
    following.method = parsed.next->method;
    following.url = parsed.next->url;
    if (following.method == "POST") {
      following.body = page.method == "POST" ? page.body : base_;
      // Top-level keys of the link replace the previous ones.
      if (parsed.next->body) following.body.update(*parsed.next->body);
    }
    if (!seen_pages_.insert(following.key()).second) {
      incomplete(fmt::format(
          "The STAC search at {} returned the same next page again and was stopped with {} "
          "items; the result may be incomplete: try again later or narrow the time range.",
          net::redact_url(following.url), result_.items.size()));
      return chain;
    }
    page = std::move(following);
  }
}

SearchResult SearchRun::run() {
  Chain chain = follow(Page{"POST", url_, base_});
  if (chain.end == Chain::End::kStopped) return std::move(result_);
  result_.matched = chain.matched;
  const json& base = base_;
  const bool sorted_request = base.contains("sortby");

  // How to ask for the items after the last one received, chosen from the first chain's order.
  enum class Mode { kNone, kId, kTime };
  Mode mode = Mode::kNone;
  const int first_time_order = time_order(chain.received);
  bool first_chain = true;
  std::string boundary_id;
  Seen boundary_time;
  int direction = 0;
  std::string range_start = "..", range_end = "..";
  if (const auto slash = request_.datetime.find('/'); slash != std::string::npos) {
    range_start = request_.datetime.substr(0, slash);
    range_end = request_.datetime.substr(slash + 1);
  } else if (!request_.datetime.empty()) {
    range_start = range_end = request_.datetime;
  }
  auto by_time_from = [&](const Seen& last) {
    mode = Mode::kTime;
    direction = first_time_order;
    boundary_time = last;
  };
  auto cannot_continue = [&](std::string_view why) {
    incomplete(fmt::format(
        "The STAC search at {} gave {} items in pages without a link to the next page, and {}; "
        "the result may be incomplete: narrow the time range or region.",
        safe_url(), result_.items.size(), why));
  };

  while (chain.end == Chain::End::kNoNextLink) {
    const auto received = static_cast<long long>(seen_items_.size());
    if (result_.matched && received >= *result_.matched) break;
    // The service returns pages of at least largest_page_ items: a smaller one was its last.
    if (chain.last_page < largest_page_) break;
    if (!first_chain && chain.added == 0) {
      cannot_continue("asking for the items after the last one brought nothing new");
      break;
    }
    if (first_chain) {
      if (sorted_request && ids_increasing(chain.received)) {
        mode = Mode::kId;
      } else if (first_time_order != 0 && request_.datetime.find('/') != std::string::npos) {
        by_time_from(chain.received.back());
      } else {
        cannot_continue("its pages are sorted neither by id nor by time");
        break;
      }
    }
    const Seen& last = chain.received.back();
    json body = base;
    if (mode == Mode::kId) {
      // gte rather than gt: the last item must come back first, which proves that the service
      // applied both the sort and the id filter (one that ignores them would seem to be done).
      boundary_id = last.id;
      body["query"]["id"] = {{"gte", boundary_id}};
    } else {
      if (!first_chain) boundary_time = last;
      body["datetime"] = direction > 0 ? boundary_time.datetime_text + "/" + range_end
                                       : range_start + "/" + boundary_time.datetime_text;
    }
    Chain next = follow(Page{"POST", url_, body});
    first_chain = false;
    if (next.end == Chain::End::kStopped) break;
    bool consistent = !next.received.empty();
    if (consistent && mode == Mode::kId) {
      consistent = next.received.front().id == boundary_id && ids_increasing(next.received);
    } else if (consistent) {
      consistent = next.received.front().datetime == boundary_time.datetime &&
                   in_time_order(next.received, direction);
    }
    if (!consistent) {
      // A service that ignores the id filter or the sort: the first pages were then a prefix
      // in no order we know, so narrowing the time range from them would be unsound.
      cannot_continue("asking for the items after the last one gave an inconsistent answer");
      break;
    }
    chain = std::move(next);
  }
  if (chain.end == Chain::End::kEmptyPage || chain.end == Chain::End::kNoNextLink) {
    const auto received = static_cast<long long>(seen_items_.size());
    if (result_.complete && result_.matched && received < *result_.matched) {
      incomplete(fmt::format(
          "The STAC search at {} reports {} matching items but only {} could be fetched; the "
          "result is incomplete: narrow the time range or region.",
          safe_url(), *result_.matched, received));
    }
  }
  return std::move(result_);
}

}  // namespace

json SearchRequest::to_json() const {
  json body = json::object();
  if (!collections.empty()) body["collections"] = collections;
  if (bbox) body["bbox"] = *bbox;
  if (intersects) body["intersects"] = *intersects;
  if (!datetime.empty()) body["datetime"] = datetime;
  body["limit"] = limit;
  if (max_cloud_cover) body["query"]["eo:cloud_cover"] = {{"lte", *max_cloud_cover}};
  if (sort_by_id) body["sortby"] = json::array({{{"field", "id"}, {"direction", "asc"}}});
  return body;
}

StacClient::StacClient(std::string root_url, net::HttpClient& http, net::Headers secret_headers)
    : root_url_(std::move(root_url)), http_(http), secret_headers_(std::move(secret_headers)) {
  while (!root_url_.empty() && root_url_.back() == '/') root_url_.pop_back();
}

SearchResult StacClient::search(const SearchRequest& request) {
  SearchRun run(root_url_, http_, secret_headers_, max_pages_, request, stop_);
  SearchResult result = run.run();
  last_page_count_ = run.pages();
  return result;
}

}  // namespace s2prep::stac
