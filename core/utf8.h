// UTF-8 validation shared by the tokenizer (splitting valid runs from stray bytes) and the Harmony
// parser (holding back a character cut between tokens).
#pragma once

#include <cstddef>
#include <string_view>

namespace tessera {

struct Utf8Scan {
  std::size_t valid_up_to = 0;
  // Length of the invalid sequence at valid_up_to; 0 when the input is valid up to its end or
  // ends inside a sequence that more bytes could complete.
  std::size_t error_len = 0;
};

// Scans for the first invalid or incomplete sequence (overlongs, surrogates and code points above
// U+10FFFF are invalid).
Utf8Scan ScanUtf8(std::string_view bytes);

}  // namespace tessera
