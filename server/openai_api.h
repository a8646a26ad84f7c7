// The OpenAI-compatible API on top of the engine: /v1/chat/completions (whole or streamed as
// server-sent events), /v1/completions, /v1/models, /score, /health, /ready and /metrics, with optional
// bearer-key auth.
#pragma once

#include <functional>
#include <string>

#include "coordinator/cluster.h"
#include "coordinator/engine.h"
#include "harmony/chat.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

// What the API serves from: a single engine or a cluster routing over its replicas.
struct Backend {
  std::function<StatusOr<std::future<Completion>>(RequestSpec)> submit;
  std::function<bool()> ready;                        // /ready, and whether to keep serving
  std::function<std::vector<const Scheduler*>()> schedulers;  // gauges sum over these
};

// Submits through the cluster (least-loaded healthy replica); gauges cover every replica.
Backend BackendFor(Cluster& cluster);

struct OpenAiOptions {
  std::string model_id = "gpt-oss";
  std::string api_key;           // "": no authentication
  int default_max_tokens = 1024;  // when the request gives neither max_tokens field
  std::string current_date;       // "YYYY-MM-DD" for the system message; "": today (UTC)
};

class OpenAiApi {
 public:
  // What `backend` refers to and `tokenizer` must outlive the server.
  OpenAiApi(Backend backend, const Tokenizer& tokenizer, OpenAiOptions options);

  // Adds the routes, the auth filter and the request counter to `server` (before Start()).
  void Install(HttpServer& server);
  const ServerMetrics& metrics() const { return metrics_; }

 private:
  struct Generation;
  struct Prepared;
  HttpResponse ChatCompletions(const HttpRequest& req, ResponseStream& stream);
  // POST /score: {"messages": [..] | "prompt": "..", "max_new_tokens": N} -> {"output": final
  // answer}, the request shape of managed online endpoints; served as a chat completion.
  HttpResponse Score(const HttpRequest& req, ResponseStream& stream);
  // POST /v1/completions: a raw prompt (text, where Harmony control strings count as control
  // tokens, or token ids) continued without chat rendering or parsing. Not streamed yet.
  HttpResponse Completions(const HttpRequest& req);
  HttpResponse Whole(Prepared& p);
  HttpResponse Streamed(Prepared& p, ResponseStream& stream);
  void Record(const Prepared& p, std::size_t generated);
  nlohmann::ordered_json Logprobs(const Prepared& p, const std::vector<TokenId>& ids, std::size_t begin, std::size_t end,
                          const std::vector<std::vector<TokenLogprob>>& tops) const;

  Backend backend_;
  const Tokenizer& tokenizer_;
  OpenAiOptions options_;
  ServerMetrics metrics_;
};

// Today's date in UTC, "YYYY-MM-DD".
std::string TodayUtc();

}  // namespace tessera::server
