#include <gtest/gtest.h>
TEST(Tokenizer, Placeholder) {}
