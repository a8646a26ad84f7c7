#include <gtest/gtest.h>

#include "core/parse.h"
#include "core/utf8.h"

namespace tessera {
namespace {

TEST(Utf8, FindsInvalidAndIncompleteSequences) {
  EXPECT_EQ(ScanUtf8("plain ascii, longer than eight").valid_up_to, 30u);
  EXPECT_EQ(ScanUtf8("h\xC3\xA9llo").valid_up_to, 6u);             // é
  auto bad = ScanUtf8("ab\xC0\xAFz");                               // overlong '/'
  EXPECT_EQ(bad.valid_up_to, 2u);
  EXPECT_EQ(bad.error_len, 1u);
  auto cut = ScanUtf8("ab\xE2\x82");                                // € cut after two bytes
  EXPECT_EQ(cut.valid_up_to, 2u);
  EXPECT_EQ(cut.error_len, 0u);                                     // more bytes could complete it
  EXPECT_EQ(ScanUtf8("\xED\xA0\x80").valid_up_to, 0u);              // surrogate
  EXPECT_EQ(ScanUtf8("\xF4\x90\x80\x80").valid_up_to, 0u);          // above U+10FFFF
  EXPECT_EQ(ScanUtf8("\xF0\x9F\x98\x80!").valid_up_to, 5u);         // emoji
}

TEST(ParseIdList, AcceptsIdsAndRejectsJunk) {
  auto ok = ParseIdList(" 1, 2,3 ");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (std::vector<std::int32_t>{1, 2, 3}));
  EXPECT_TRUE(ParseIdList("").ok());
  EXPECT_FALSE(ParseIdList("1,x").ok());
  EXPECT_FALSE(ParseIdList("1,-2").ok());
  EXPECT_FALSE(ParseIdList("1,,2").ok());
  EXPECT_FALSE(ParseIdList("99999999999").ok());
}

}  // namespace
}  // namespace tessera
