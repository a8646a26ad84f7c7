#include "server/openai_api.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>

#include "core/log.h"
#include "harmony/chat_completions.h"
#include "harmony/render.h"
#include "server/chat_output.h"
#include "server/openai_request.h"

namespace tessera::server {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

constexpr TokenId kStopIds[] = {200002, 200012};  // <|return|>, <|call|>

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

HttpResponse JsonResponse(const Json& j, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = Dump(j);
  return r;
}

HttpResponse FromApiError(const ApiError& e) { return ErrorResponse(e.status, e.message, e.type, e.param, e.code); }

// Engine refusals to HTTP: a full queue asks the client to retry, a request that can never fit
// is the client's error, anything else is ours.
HttpResponse FromSubmitStatus(const Status& s) {
  const std::string msg(s.message());
  switch (s.code()) {
    case absl::StatusCode::kResourceExhausted: {
      HttpResponse r = ErrorResponse(429, msg, "rate_limit_error", "", "queue_full");
      r.headers.push_back({"Retry-After", "1"});
      return r;
    }
    case absl::StatusCode::kOutOfRange:
      return ErrorResponse(400, msg, "invalid_request_error", "messages", "context_length_exceeded");
    case absl::StatusCode::kInvalidArgument:
      return ErrorResponse(400, msg, "invalid_request_error");
    case absl::StatusCode::kUnavailable:
      return ErrorResponse(503, msg, "server_error", "", "unavailable");
    default:
      return ErrorResponse(500, msg, "server_error");
  }
}

bool SameKey(const std::string& a, const std::string& b) {
  // Compare every byte so the time taken does not reveal the matching prefix.
  unsigned char diff = a.size() != b.size();
  for (std::size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % std::max<std::size_t>(b.size(), 1)];
  return diff == 0 && !b.empty();
}

}  // namespace

std::string TodayUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// Tokens as the step loop reports them; shared with the engine's callback, which may outlive
// the HTTP exchange when the client goes away.
struct OpenAiApi::Generation {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<float> logprobs;
  std::vector<TokenId> ids;
  std::vector<Clock::time_point> times;
};

struct OpenAiApi::Prepared {
  ChatRequest req;
  std::string id;
  std::int64_t created = 0;
  std::vector<TokenId> prompt;
  std::shared_ptr<Generation> gen = std::make_shared<Generation>();
  Clock::time_point submitted;
  std::future<Completion> done;
  // Set when the client went away or a stop string ended the answer: the scheduler then ends
  // the sequence at its next step and frees its KV blocks.
  std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
};

Backend BackendFor(Cluster& cluster) {
  Backend b;
  b.submit = [&cluster](RequestSpec spec) { return cluster.Submit(std::move(spec)); };
  b.ready = [&cluster] { return cluster.healthy(); };
  b.schedulers = [&cluster] {
    std::vector<const Scheduler*> out;
    for (int r = 0; r < cluster.replicas(); ++r) out.push_back(&cluster.engine(r).scheduler());
    return out;
  };
  return b;
}

OpenAiApi::OpenAiApi(Backend backend, const Tokenizer& tokenizer, OpenAiOptions options)
    : backend_(std::move(backend)), tokenizer_(tokenizer), options_(std::move(options)) {}

void OpenAiApi::Install(HttpServer& server) {
  server.SetFilter([this](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (options_.api_key.empty() || req.path == "/health" || req.path == "/ready") return std::nullopt;
    const std::string auth = req.Header("authorization");
    const std::string prefix = "Bearer ";
    if (auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0 &&
        SameKey(auth.substr(prefix.size()), options_.api_key)) {
      return std::nullopt;
    }
    HttpResponse r = ErrorResponse(401, auth.empty() ? "missing API key (Authorization: Bearer ...)" : "invalid API key",
                                   "invalid_request_error", "", "invalid_api_key");
    r.headers.push_back({"WWW-Authenticate", "Bearer"});
    return r;
  });
  server.SetObserver([this](const HttpRequest& req, int status) {
    if (req.path.rfind("/v1/", 0) == 0 || req.path == kRefusedPath) metrics_.CountRequest(status);
  });
  server.Route("GET", "/health", [](const HttpRequest&, ResponseStream&) {
    return JsonResponse({{"status", "ok"}});
  });
  server.Route("GET", "/ready", [this](const HttpRequest&, ResponseStream&) {
    return backend_.ready() ? JsonResponse({{"status", "ready"}}) : JsonResponse({{"status", "unavailable"}}, 503);
  });
  server.Route("GET", "/v1/models", [this](const HttpRequest&, ResponseStream&) {
    Json model = {{"id", options_.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "tessera"}};
    return JsonResponse({{"object", "list"}, {"data", Json::array({model})}});
  });
  server.Route("GET", "/metrics", [this](const HttpRequest&, ResponseStream&) {
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.Render(backend_.schedulers());
    return r;
  });
  server.Route("POST", "/v1/chat/completions",
               [this](const HttpRequest& req, ResponseStream& stream) { return ChatCompletions(req, stream); });
  server.Route("POST", "/v1/completions", [this](const HttpRequest& req, ResponseStream&) { return Completions(req); });
  server.Route("POST", "/score", [this](const HttpRequest& req, ResponseStream& stream) { return Score(req, stream); });
}

HttpResponse OpenAiApi::Score(const HttpRequest& http, ResponseStream& stream) {
  const Json body = Json::parse(http.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return ErrorResponse(400, "the request body is not a JSON object", "invalid_request_error");
  Json chat = Json::object();
  if (body.contains("messages")) {
    chat["messages"] = body["messages"];
  } else if (body.contains("prompt") && body["prompt"].is_string()) {
    chat["messages"] = Json::array({{{"role", "user"}, {"content", body["prompt"]}}});
  } else {
    return ErrorResponse(400, "give \"messages\" (a chat list) or \"prompt\" (a string)", "invalid_request_error",
                         "messages");
  }
  if (body.contains("max_new_tokens")) chat["max_tokens"] = body["max_new_tokens"];
  for (const char* k : {"temperature", "top_p", "seed", "reasoning_effort", "tools"})
    if (body.contains(k)) chat[k] = body[k];
  HttpRequest inner = http;
  inner.body = Dump(chat);
  HttpResponse r = ChatCompletions(inner, stream);
  if (r.status != 200) return r;  // errors keep the OpenAI shape, with field names of the chat form
  const Json done = Json::parse(r.body, nullptr, false);
  const Json& content = done["choices"][0]["message"]["content"];
  return JsonResponse({{"output", content.is_string() ? content.get<std::string>() : std::string()}});
}

HttpResponse OpenAiApi::ChatCompletions(const HttpRequest& http, ResponseStream& stream) {
  const harmony::Json body = harmony::Json::parse(http.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return ErrorResponse(400, "the request body is not valid JSON", "invalid_request_error");
  Prepared p;
  if (std::optional<ApiError> e = ParseChatRequest(body, options_.default_max_tokens, &p.req)) return FromApiError(*e);
  if (!p.req.model.empty() && p.req.model != options_.model_id) {
    return ErrorResponse(404, "The model '" + p.req.model + "' does not exist", "invalid_request_error", "model",
                         "model_not_found");
  }
  harmony::ChatCompletionsOptions copts;
  copts.system.current_date = options_.current_date.empty() ? TodayUtc() : options_.current_date;
  StatusOr<harmony::Conversation> conv = harmony::ConversationFromChatCompletions(body, copts);
  if (!conv.ok()) return ErrorResponse(400, std::string(conv.status().message()), "invalid_request_error");
  StatusOr<harmony::Prompt> prompt = harmony::RenderForCompletion(*conv);
  if (!prompt.ok()) return ErrorResponse(400, std::string(prompt.status().message()), "invalid_request_error");
  p.prompt = prompt->RenderIds(tokenizer_);

  RequestSpec spec;
  spec.prompt = p.prompt;
  spec.max_tokens = p.req.max_tokens;
  spec.sampling = p.req.sampling;
  spec.top_logprobs = p.req.logprobs ? p.req.top_logprobs : 0;
  spec.stop_ids.assign(std::begin(kStopIds), std::end(kStopIds));
  spec.cancelled = p.cancelled;
  // Runs on the step loop's thread: record and wake the HTTP thread, nothing more.
  spec.on_token = [gen = p.gen](TokenId id, float logprob) {
    {
      std::lock_guard<std::mutex> lock(gen->mu);
      gen->ids.push_back(id);
      gen->logprobs.push_back(logprob);
      gen->times.push_back(Clock::now());
    }
    gen->cv.notify_one();
  };
  p.submitted = Clock::now();
  StatusOr<std::future<Completion>> fut = backend_.submit(std::move(spec));
  if (!fut.ok()) return FromSubmitStatus(fut.status());
  p.done = std::move(*fut);
  p.id = "chatcmpl-" + NewCallId().substr(5);
  p.created = static_cast<std::int64_t>(std::time(nullptr));
  return p.req.stream ? Streamed(p, stream) : Whole(p);
}

void OpenAiApi::Record(const Prepared& p, std::size_t generated) {
  metrics_.AddTokens(static_cast<std::int64_t>(p.prompt.size()), static_cast<std::int64_t>(generated));
  std::lock_guard<std::mutex> lock(p.gen->mu);
  const auto& t = p.gen->times;
  if (t.empty()) return;
  metrics_.ObserveTimeToFirstToken(std::chrono::duration<double>(t[0] - p.submitted).count());
  for (std::size_t i = 1; i < t.size(); ++i) {
    metrics_.ObserveInterTokenLatency(std::chrono::duration<double>(t[i] - t[i - 1]).count());
  }
}

Json OpenAiApi::Logprobs(const Prepared& p, const std::vector<TokenId>& ids, std::size_t begin, std::size_t end,
                         const std::vector<std::vector<TokenLogprob>>& tops) const {
  auto entry = [&](TokenId id, float lp) {
    StatusOr<std::string> text = tokenizer_.Decode(std::span<const TokenId>(&id, 1));
    const std::string s = text.ok() ? *text : std::string();
    Json bytes = Json::array();
    for (unsigned char c : s) bytes.push_back(static_cast<int>(c));
    return Json{{"token", s}, {"logprob", lp}, {"bytes", bytes}};
  };
  Json content = Json::array();
  std::lock_guard<std::mutex> lock(p.gen->mu);
  for (std::size_t i = begin; i < end && i < ids.size(); ++i) {
    const float lp = i < p.gen->logprobs.size() ? p.gen->logprobs[i] : 0.0f;
    Json e = entry(ids[i], lp);
    e["top_logprobs"] = Json::array();
    if (i < tops.size()) {
      for (const TokenLogprob& t : tops[i]) e["top_logprobs"].push_back(entry(t.id, t.logprob));
    }
    content.push_back(std::move(e));
  }
  return Json{{"content", content}};
}

HttpResponse OpenAiApi::Whole(Prepared& p) {
  Completion c = p.done.get();
  if (!c.status.ok()) {
    const bool lost = c.status.code() == absl::StatusCode::kUnavailable;
    return ErrorResponse(lost ? 503 : 500, std::string(c.status.message()), "server_error");
  }
  ChatOutput out(tokenizer_, p.req.stop);
  std::vector<ChatDelta> ignored;
  for (TokenId id : c.output) out.Push(id, &ignored);
  out.Finish(&ignored);
  Record(p, c.output.size());

  Json message = {{"role", "assistant"}};
  const bool calls = !out.tool_calls().empty();
  message["content"] = calls && out.content().empty() ? Json(nullptr) : Json(out.content());
  if (!out.reasoning().empty()) {
    message["reasoning_content"] = out.reasoning();
    message["reasoning"] = out.reasoning();
  }
  if (calls) message["tool_calls"] = out.tool_calls();
  const std::string finish =
      calls ? "tool_calls" : (c.finish_reason == "length" && !out.stop_string_hit() ? "length" : "stop");
  Json choice = {{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", finish}};
  if (p.req.logprobs) choice["logprobs"] = Logprobs(p, c.output, 0, c.output.size(), c.top_logprobs);
  const std::size_t n = c.output.size();
  return JsonResponse({{"id", p.id},
                       {"object", "chat.completion"},
                       {"created", p.created},
                       {"model", options_.model_id},
                       {"choices", Json::array({choice})},
                       {"usage",
                        {{"prompt_tokens", p.prompt.size()},
                         {"completion_tokens", n},
                         {"total_tokens", p.prompt.size() + n}}}});
}

HttpResponse OpenAiApi::Streamed(Prepared& p, ResponseStream& stream) {
  auto chunk = [&](Json delta, Json finish) {
    Json choice = {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}};
    return Json{{"id", p.id},
                {"object", "chat.completion.chunk"},
                {"created", p.created},
                {"model", options_.model_id},
                {"choices", Json::array({std::move(choice)})}};
  };
  bool client_ok = stream.Begin(200, "text/event-stream");
  auto send = [&](const Json& j) {
    if (client_ok) client_ok = stream.Write("data: " + Dump(j) + "\n\n");
  };
  send(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));

  ChatOutput out(tokenizer_, p.req.stop);
  std::size_t consumed = 0, tool_index = 0;
  auto emit = [&](const std::vector<ChatDelta>& deltas) {
    for (const ChatDelta& d : deltas) {
      if (!d.content.empty()) send(chunk({{"content", d.content}}, nullptr));
      if (!d.reasoning.empty()) send(chunk({{"reasoning_content", d.reasoning}, {"reasoning", d.reasoning}}, nullptr));
      if (!d.tool_call.is_null()) {
        Json tc = d.tool_call;
        tc["index"] = tool_index++;
        send(chunk({{"tool_calls", Json::array({tc})}}, nullptr));
      }
    }
  };
  auto feed = [&](const std::vector<TokenId>& ids) {
    std::vector<ChatDelta> deltas;
    for (; consumed < ids.size(); ++consumed) out.Push(ids[consumed], &deltas);
    emit(deltas);
    if (out.stop_string_hit()) p.cancelled->store(true);  // nothing more will be sent
  };
  // Tokens arrive through the callback; the future says when the sequence is over. A client that
  // went away stops the writing here; the engine finishes the sequence on its own.
  while (client_ok && p.done.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    std::vector<TokenId> ids;
    {
      std::unique_lock<std::mutex> lock(p.gen->mu);
      p.gen->cv.wait_for(lock, std::chrono::milliseconds(20), [&] { return p.gen->ids.size() > consumed; });
      ids = p.gen->ids;
    }
    feed(ids);
  }
  if (!client_ok) {
    p.cancelled->store(true);
    Logger("http")->info("{}: client disconnected during streaming; request cancelled", p.id);
    return {};
  }
  Completion c = p.done.get();
  if (!c.status.ok()) {
    send({{"error", {{"message", std::string(c.status.message())}, {"type", "server_error"}, {"param", nullptr},
                     {"code", nullptr}}}});
    if (client_ok) stream.Write("data: [DONE]\n\n");
    return {};
  }
  feed(c.output);
  std::vector<ChatDelta> tail;
  out.Finish(&tail);
  emit(tail);
  Record(p, c.output.size());
  const bool calls = !out.tool_calls().empty();
  const std::string finish =
      calls ? "tool_calls" : (c.finish_reason == "length" && !out.stop_string_hit() ? "length" : "stop");
  Json last = chunk(Json::object(), finish);
  if (p.req.logprobs) last["choices"][0]["logprobs"] = Logprobs(p, c.output, 0, c.output.size(), c.top_logprobs);
  send(last);
  if (p.req.include_usage) {
    const std::size_t n = c.output.size();
    send({{"id", p.id},
          {"object", "chat.completion.chunk"},
          {"created", p.created},
          {"model", options_.model_id},
          {"choices", Json::array()},
          {"usage",
           {{"prompt_tokens", p.prompt.size()}, {"completion_tokens", n}, {"total_tokens", p.prompt.size() + n}}}});
  }
  if (client_ok) stream.Write("data: [DONE]\n\n");
  return {};
}

}  // namespace tessera::server
