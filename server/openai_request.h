// Validation of a Chat Completions request body: the sampling fields tessera serves, with the
// OpenAI error (status, message, param, code) for each way a field can be wrong. Messages, tools
// and response formats are checked later, by the Harmony mapping.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harmony/chat.h"
#include "model/sampler.h"

namespace tessera::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string param;
  std::string code;
  std::string type = "invalid_request_error";
};

struct ChatRequest {
  std::string model;  // "" when the request names none
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  int max_tokens = 0;
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool logprobs = false;
  int top_logprobs = 0;
};

// Reads and checks the fields of `body` (an object); nullopt and `*out` filled when valid.
std::optional<ApiError> ParseChatRequest(const harmony::Json& body, int default_max_tokens, ChatRequest* out);

}  // namespace tessera::server
