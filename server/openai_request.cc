#include "server/openai_request.h"

#include <random>

namespace tessera::server {
namespace {

ApiError Bad(const std::string& param, const std::string& message) {
  return ApiError{400, message, param, "invalid_type"};
}

ApiError Range(const std::string& param, const std::string& message) {
  return ApiError{400, message, param, "invalid_value"};
}

// Integers may arrive as 5 or 5.0; anything else (true, "5", 5.5) is a type error.
bool AsInt(const harmony::Json& v, std::int64_t* out) {
  if (v.is_number_integer()) {
    *out = v.get<std::int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) {
      *out = static_cast<std::int64_t>(d);
      return true;
    }
  }
  return false;
}

std::optional<ApiError> CheckToolChoice(const harmony::Json& body) {
  if (!body.contains("tool_choice") || body["tool_choice"].is_null()) return std::nullopt;
  const harmony::Json& tc = body["tool_choice"];
  if (tc.is_string()) {
    const std::string s = tc.get<std::string>();
    if (s == "none" || s == "auto" || s == "required") return std::nullopt;
    return Range("tool_choice", "tool_choice must be \"none\", \"auto\", \"required\" or a function");
  }
  if (!tc.is_object() || !tc.contains("function") || !tc["function"].is_object() ||
      !tc["function"].contains("name") || !tc["function"]["name"].is_string()) {
    return Bad("tool_choice", "tool_choice must be a string or {\"type\": \"function\", \"function\": {\"name\"}}");
  }
  const std::string name = tc["function"]["name"].get<std::string>();
  if (body.contains("tools") && body["tools"].is_array()) {
    for (const harmony::Json& t : body["tools"]) {
      if (t.is_object() && t.contains("function") && t["function"].is_object() &&
          t["function"].value("name", std::string()) == name) {
        return std::nullopt;
      }
    }
  }
  return Range("tool_choice", "tool_choice names function '" + name + "', which is not in tools");
}

}  // namespace

std::optional<ApiError> ParseChatRequest(const harmony::Json& body, int default_max_tokens, ChatRequest* out) {
  if (!body.is_object()) return Bad("", "the request body must be a JSON object");
  auto has = [&](const char* k) { return body.contains(k) && !body[k].is_null(); };
  if (has("model")) {
    if (!body["model"].is_string()) return Bad("model", "model must be a string");
    out->model = body["model"].get<std::string>();
  }
  if (!body.contains("messages")) return ApiError{400, "messages is required", "messages", "missing_required_parameter"};
  if (!body["messages"].is_array()) return Bad("messages", "messages must be an array");
  if (body["messages"].empty()) return Range("messages", "messages must not be empty");
  if (has("stream")) {
    if (!body["stream"].is_boolean()) return Bad("stream", "stream must be a boolean");
    out->stream = body["stream"].get<bool>();
  }
  if (has("stream_options")) {
    const harmony::Json& so = body["stream_options"];
    if (!so.is_object()) return Bad("stream_options", "stream_options must be an object");
    if (so.contains("include_usage") && !so["include_usage"].is_null()) {
      if (!so["include_usage"].is_boolean()) return Bad("stream_options.include_usage", "include_usage must be a boolean");
      out->include_usage = so["include_usage"].get<bool>();
    }
  }
  out->max_tokens = default_max_tokens;
  for (const char* k : {"max_tokens", "max_completion_tokens"}) {
    if (!has(k)) continue;
    std::int64_t v = 0;
    if (!AsInt(body[k], &v)) return Bad(k, std::string(k) + " must be an integer");
    if (v < 1 || v > (1 << 30)) return Range(k, std::string(k) + " must be between 1 and 2^30");
    out->max_tokens = static_cast<int>(v);
  }
  if (has("n")) {
    std::int64_t n = 0;
    if (!AsInt(body["n"], &n)) return Bad("n", "n must be an integer");
    if (n != 1) return Range("n", "only n = 1 is supported");
  }
  if (has("temperature")) {
    if (!body["temperature"].is_number()) return Bad("temperature", "temperature must be a number");
    const double t = body["temperature"].get<double>();
    if (t < 0 || t > 2) return Range("temperature", "temperature must be between 0 and 2");
    out->sampling.temperature = static_cast<float>(t);
  }
  if (has("top_p")) {
    if (!body["top_p"].is_number()) return Bad("top_p", "top_p must be a number");
    const double p = body["top_p"].get<double>();
    if (p <= 0 || p > 1) return Range("top_p", "top_p must be in (0, 1]");
    out->sampling.top_p = static_cast<float>(p);
  }
  if (has("seed")) {
    std::int64_t s = 0;
    if (!AsInt(body["seed"], &s)) return Bad("seed", "seed must be an integer");
    out->sampling.seed = static_cast<std::uint64_t>(s);
  } else {
    // Without a seed every request samples differently, as the OpenAI API does.
    out->sampling.seed = std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32);
  }
  if (has("stop")) {
    const harmony::Json& s = body["stop"];
    if (s.is_string()) {
      out->stop.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      if (s.size() > 4) return Range("stop", "at most 4 stop sequences");
      for (const harmony::Json& x : s) {
        if (!x.is_string()) return Bad("stop", "stop must be a string or an array of strings");
        out->stop.push_back(x.get<std::string>());
      }
    } else {
      return Bad("stop", "stop must be a string or an array of strings");
    }
  }
  if (has("logprobs")) {
    if (!body["logprobs"].is_boolean()) return Bad("logprobs", "logprobs must be a boolean");
    out->logprobs = body["logprobs"].get<bool>();
  }
  if (has("top_logprobs")) {
    std::int64_t k = 0;
    if (!AsInt(body["top_logprobs"], &k)) return Bad("top_logprobs", "top_logprobs must be an integer");
    if (k < 0 || k > 20) return Range("top_logprobs", "top_logprobs must be between 0 and 20");
    if (!out->logprobs && k > 0) return Range("top_logprobs", "top_logprobs requires logprobs: true");
    out->top_logprobs = static_cast<int>(k);
  }
  if (has("tools") && !body["tools"].is_array()) return Bad("tools", "tools must be an array");
  return CheckToolChoice(body);
}

}  // namespace tessera::server
