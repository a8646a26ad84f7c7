// POST /v1/completions: raw prompts, no Harmony rendering or parsing.
#include <algorithm>
#include <ctime>

#include "server/openai_api.h"
#include "server/openai_request.h"

namespace tessera::server {
namespace {

using Json = nlohmann::ordered_json;

// Raw continuations also end at <|endoftext|>, besides the assistant's stop tokens.
constexpr TokenId kRawStopIds[] = {200002, 200012, 199999};

HttpResponse Error(int status, const std::string& message, const std::string& param = "") {
  HttpResponse r;
  r.status = status;
  r.body = Json{{"error", {{"message", message}, {"type", "invalid_request_error"},
                           {"param", param.empty() ? Json(nullptr) : Json(param)}, {"code", nullptr}}}}
               .dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace

HttpResponse OpenAiApi::Completions(const HttpRequest& http) {
  Json body = Json::parse(http.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return Error(400, "the request body is not a JSON object");
  // The prompt: a string, a list holding one string, or a list of token ids.
  std::vector<TokenId> prompt;
  const Json& p = body.contains("prompt") ? body["prompt"] : Json();
  if (p.is_string()) {
    prompt = tokenizer_.EncodeWithSpecials(p.get<std::string>());
  } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
    prompt = tokenizer_.EncodeWithSpecials(p[0].get<std::string>());
  } else if (p.is_array() && !p.empty() && std::all_of(p.begin(), p.end(), [](const Json& v) { return v.is_number_unsigned(); })) {
    for (const Json& v : p) {
      if (v.get<std::uint64_t>() >= tokenizer_.vocab_size()) return Error(400, "prompt holds a token id outside the vocabulary", "prompt");
      prompt.push_back(static_cast<TokenId>(v.get<std::uint64_t>()));
    }
  } else {
    return Error(400, "prompt must be a string, a list with one string, or a list of token ids", "prompt");
  }
  if (prompt.empty()) return Error(400, "the prompt is empty", "prompt");
  if (body.value("stream", false)) return Error(400, "stream is not supported on /v1/completions yet", "stream");
  if (body.contains("n") && body["n"] != 1) return Error(400, "only n = 1 is supported", "n");
  // The sampling fields are those of chat completions; legacy `logprobs` is a count.
  Json check = body;
  check.erase("prompt");
  check["messages"] = Json::array({{{"role", "user"}, {"content", "-"}}});
  if (check.contains("logprobs") && check["logprobs"].is_number_integer()) {
    check["top_logprobs"] = check["logprobs"];
    check["logprobs"] = check["logprobs"].get<int>() > 0;
  }
  if (!body.contains("max_tokens")) check["max_tokens"] = 16;  // the legacy API's default
  ChatRequest req;
  if (std::optional<ApiError> e = ParseChatRequest(check, options_.default_max_tokens, &req))
    return Error(e->status, e->message, e->param);
  if (!req.model.empty() && req.model != options_.model_id)
    return Error(404, "The model '" + req.model + "' does not exist", "model");

  RequestSpec spec;
  spec.prompt = prompt;
  spec.max_tokens = req.max_tokens;
  spec.sampling = req.sampling;
  spec.stop_ids.assign(std::begin(kRawStopIds), std::end(kRawStopIds));
  StatusOr<std::future<Completion>> fut = backend_.submit(std::move(spec));
  if (!fut.ok()) {
    const bool full = fut.status().code() == absl::StatusCode::kResourceExhausted;
    return Error(full ? 429 : 400, std::string(fut.status().message()));
  }
  Completion c = fut->get();
  if (!c.status.ok()) return Error(c.status.code() == absl::StatusCode::kUnavailable ? 503 : 500, std::string(c.status.message()));
  std::vector<TokenId> out = c.output;
  std::string finish = c.finish_reason == "stop" ? "stop" : "length";
  if (!out.empty() && std::find(std::begin(kRawStopIds), std::end(kRawStopIds), out.back()) != std::end(kRawStopIds))
    out.pop_back();  // the stop token is not part of the text
  StatusOr<std::string> text = tokenizer_.Decode(out);
  std::string t = text.ok() ? *text : std::string();
  for (const std::string& stop : req.stop) {
    const std::size_t at = t.find(stop);
    if (!stop.empty() && at != std::string::npos) {
      t.resize(at);
      finish = "stop";
    }
  }
  metrics_.AddTokens(static_cast<std::int64_t>(prompt.size()), static_cast<std::int64_t>(c.output.size()));
  HttpResponse r;
  r.body = Json{{"id", "cmpl-" + std::to_string(std::time(nullptr)) + std::to_string(prompt.size())},
                {"object", "text_completion"},
                {"created", static_cast<std::int64_t>(std::time(nullptr))},
                {"model", options_.model_id},
                {"choices", Json::array({{{"index", 0}, {"text", t}, {"logprobs", nullptr}, {"finish_reason", finish}}})},
                {"usage", {{"prompt_tokens", prompt.size()}, {"completion_tokens", c.output.size()},
                           {"total_tokens", prompt.size() + c.output.size()}}}}
               .dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

}  // namespace tessera::server
