#include "core/text.hpp"

#include <gtest/gtest.h>

namespace s2prep {
namespace {

TEST(Printable, ControlCharactersAreEscapedAndLongTextCut) {
  EXPECT_EQ(printable("plain text"), "plain text");
  EXPECT_EQ(printable("a\nb\x1b[2J"), "a\\x0ab\\x1b[2J");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(printable("abcdef", 3), "abc…");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 text stays as it is
}

}  // namespace
}  // namespace s2prep
