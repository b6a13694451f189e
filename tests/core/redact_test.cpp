#include "core/redact.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/json_limits.hpp"

namespace s2prep {
namespace {

TEST(Redact, UrlLosesQueryFragmentAndCredentials) {
  EXPECT_EQ(redact_url("https://a.blob.core.windows.net/c/B04.tif?st=1&sig=abc%3D"),
            "https://a.blob.core.windows.net/c/B04.tif");
  EXPECT_EQ(redact_url("https://user:secret@h:8080/p?x"), "https://h:8080/p");
}

TEST(Redact, TextRedactsEveryUrlAndBareTokens) {
  EXPECT_EQ(redact_text("HTTP error on https://u:p@h/a.tif?sig=S: 403 and http://g/b.tif?x=1 end"),
            "HTTP error on https://h/a.tif: 403 and http://g/b.tif end");
  EXPECT_EQ(redact_text("curl said 'st=1&sig=abc%3D&sv=2' here"), "curl said '' here");
  EXPECT_EQ(redact_text("no url, no token: response=1"), "no url, no token: response=1");
  EXPECT_EQ(redact_text("httpx http: https"), "httpx http: https");
}

// std::regex recursed once per character: a 100 kB URL overflowed the stack of a read thread.
TEST(Redact, LongUrlsAreRedactedAndTheTextShortened) {
  const std::string token(100000, 'a');
  const std::string path(50000, 'p');
  const std::string text =
      "HTTP response code on https://h/" + path + ".tif?se=1&sig=" + token + ": 403";
  const std::string out = redact_text(text);
  EXPECT_EQ(out.find("sig"), std::string::npos);
  EXPECT_EQ(out.find("aaaa"), std::string::npos);
  EXPECT_LE(out.size(), kMaxRedactedText);
  EXPECT_EQ(out.rfind("HTTP response code on https://h/ppp", 0), 0u) << out.substr(0, 80);
  EXPECT_TRUE(out.ends_with("ppp.tif: 403")) << out.substr(out.size() - 80);
  EXPECT_EQ(redact_url("https://h/x?sig=" + token), "https://h/x");
}

TEST(JsonLimits, DepthIsCountedWithoutRecursion) {
  EXPECT_EQ(json_depth(nlohmann::json(1)), 0u);
  EXPECT_EQ(json_depth(nlohmann::json::parse(R"({"a": [[1], 2]})")), 3u);
  const auto deep = nlohmann::json::parse(std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(json_depth(deep), kMaxJsonDepth + 1);  // stops counting past the limit
  EXPECT_EQ(json_depth(deep, 200000), 100000u);
}

TEST(JsonLimits, OutsideJsonProblemsAreOneClause) {
  const auto problem = [](const std::string& text) -> std::string {
    try {
      parse_outside_json(text);
    } catch (const JsonProblem& e) {
      return e.what();
    }
    return "(parsed)";
  };
  EXPECT_EQ(problem(std::string(65, '[') + std::string(65, ']')),
            "JSON nested deeper than 64 levels");
  EXPECT_EQ(problem(std::string(64, '[') + std::string(64, ']')), "(parsed)");
  EXPECT_EQ(problem(R"({"a": 1e400})"), "JSON with a number out of range ('1e400')");
  EXPECT_EQ(problem("{oops"), "not JSON (syntax error at byte 2)");
  EXPECT_EQ(problem(std::string(100000, '[')), "JSON nested deeper than 64 levels");
}

}  // namespace
}  // namespace s2prep
