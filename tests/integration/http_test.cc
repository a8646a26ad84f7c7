// The OpenAI-compatible HTTP server against an in-process cluster on the built-in model. Its
// weights are random, so the checks are on structure: shapes, status codes, counts, finish reasons.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>

#include "coordinator/cluster.h"
#include "model/default_model.h"
#include "server/chat_output.h"
#include "server/http_server.h"
#include "server/openai_api.h"
#include "server/serve.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Json = nlohmann::json;

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  Json json() const { return Json::parse(body, nullptr, false); }
};

Reply Call(int port, http::verb verb, const std::string& target, const std::string& body = "",
           const std::map<std::string, std::string>& headers = {}) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  http::write(socket, req, ec);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  http::read(socket, buf, parser, ec);
  Reply r;
  if (ec) return r;
  r.status = parser.get().result_int();
  for (const auto& f : parser.get()) r.headers[std::string(f.name_string())] = std::string(f.value());
  r.body = parser.get().body();
  return r;
}

Reply Post(int port, const Json& body, const std::map<std::string, std::string>& headers = {}) {
  return Call(port, http::verb::post, "/v1/chat/completions", body.dump(), headers);
}

Json Chat(int max_tokens, bool stream = false) {
  Json j = {{"model", "gpt-oss"},
            {"messages", {{{"role", "user"}, {"content", "Say hi."}}}},
            {"max_tokens", max_tokens},
            {"temperature", 0}};
  if (stream) {
    j["stream"] = true;
    j["stream_options"] = {{"include_usage", true}};
  }
  return j;
}

// The JSON payloads of "data: ..." events, "[DONE]" as a string.
std::vector<Json> SseEvents(const std::string& body) {
  std::vector<Json> out;
  std::size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const std::size_t end = body.find("\n\n", pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    out.push_back(data == "[DONE]" ? Json("[DONE]") : Json::parse(data, nullptr, false));
    pos = end;
  }
  return out;
}

// A metric's value from the exposition text; 0 when absent.
double Metric(const std::string& text, const std::string& series) {
  std::size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return 0;
}

class HttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StatusOr<std::string> dir = DefaultModelDir();
    ASSERT_TRUE(dir.ok()) << dir.status();
    model_dir_ = new std::string(*dir);
    ClusterOptions o;
    o.model_dir = *dir;
    o.workers = 1;
    o.self_exe = TESSERA_BINARY_DIR "/bin/tessera";
    o.scheduler.max_context = 4096;
    StatusOr<std::unique_ptr<Cluster>> c = Cluster::Start(o);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = c->release();
    StatusOr<Tokenizer> t = Tokenizer::FromModelDir(*dir);
    ASSERT_TRUE(t.ok()) << t.status();
    tokenizer_ = new Tokenizer(std::move(*t));
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete tokenizer_;
    delete model_dir_;
  }

  // A server over the shared cluster; `api_key` turns authentication on.
  int StartServer(const std::string& api_key = "", std::size_t body_limit = std::size_t{16} << 20) {
    OpenAiOptions ao;
    ao.api_key = api_key;
    api_ = std::make_unique<OpenAiApi>(BackendFor(*cluster_), *tokenizer_, ao);
    HttpServerOptions ho;
    ho.body_limit = body_limit;
    server_ = std::make_unique<HttpServer>(ho);
    api_->Install(*server_);
    EXPECT_TRUE(server_->Start().ok());
    return server_->port();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  static inline Cluster* cluster_ = nullptr;
  static inline Tokenizer* tokenizer_ = nullptr;
  static inline std::string* model_dir_ = nullptr;
  std::unique_ptr<OpenAiApi> api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpTest, HealthReadyModels) {
  const int port = StartServer();
  EXPECT_EQ(Call(port, http::verb::get, "/health").status, 200);
  EXPECT_EQ(Call(port, http::verb::get, "/ready").status, 200);
  Reply models = Call(port, http::verb::get, "/v1/models");
  ASSERT_EQ(models.status, 200);
  EXPECT_EQ(models.json()["object"], "list");
  ASSERT_EQ(models.json()["data"].size(), 1u);
  EXPECT_EQ(models.json()["data"][0]["id"], "gpt-oss");
  EXPECT_EQ(Call(port, http::verb::get, "/nope").status, 404);
  EXPECT_EQ(Call(port, http::verb::get, "/v1/chat/completions").status, 405);
}

TEST_F(HttpTest, ChatCompletionShapeAndUsage) {
  const int port = StartServer();
  Reply r = Post(port, Chat(8));
  ASSERT_EQ(r.status, 200) << r.body;
  const Json j = r.json();
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "gpt-oss");
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_TRUE(j["created"].is_number_integer());
  ASSERT_EQ(j["choices"].size(), 1u);
  const Json& choice = j["choices"][0];
  EXPECT_EQ(choice["message"]["role"], "assistant");
  const std::string finish = choice["finish_reason"];
  EXPECT_TRUE(finish == "stop" || finish == "length" || finish == "tool_calls") << finish;
  const Json& usage = j["usage"];
  EXPECT_GT(usage["prompt_tokens"].get<int>(), 10);
  EXPECT_GE(usage["completion_tokens"].get<int>(), 1);
  EXPECT_LE(usage["completion_tokens"].get<int>(), 8);
  EXPECT_EQ(usage["total_tokens"].get<int>(), usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
  if (usage["completion_tokens"].get<int>() == 8) {
    EXPECT_NE(finish, "stop");
  }
}

TEST_F(HttpTest, LogprobsPerToken) {
  const int port = StartServer();
  Json req = Chat(4);
  req["logprobs"] = true;
  req["top_logprobs"] = 3;
  Reply r = Post(port, req);
  ASSERT_EQ(r.status, 200) << r.body;
  const Json j = r.json();
  const Json& content = j["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), j["usage"]["completion_tokens"].get<std::size_t>());
  for (const Json& t : content) {
    EXPECT_LE(t["logprob"].get<double>(), 0.0);
    EXPECT_EQ(t["top_logprobs"].size(), 3u);
  }
}

TEST_F(HttpTest, StreamingChunkSequence) {
  const int port = StartServer();
  Reply r = Post(port, Chat(8, /*stream=*/true));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["Content-Type"], "text/event-stream");
  const std::vector<Json> events = SseEvents(r.body);
  ASSERT_GE(events.size(), 4u) << r.body;
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(events[0]["object"], "chat.completion.chunk");
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  const Json& usage_chunk = events[events.size() - 2];
  EXPECT_TRUE(usage_chunk["choices"].empty());
  const int completion = usage_chunk["usage"]["completion_tokens"];
  EXPECT_GE(completion, 1);
  EXPECT_LE(completion, 8);
  const Json& finish_chunk = events[events.size() - 3];
  ASSERT_FALSE(finish_chunk["choices"][0]["finish_reason"].is_null());
  const std::string finish = finish_chunk["choices"][0]["finish_reason"];
  EXPECT_TRUE(finish == "stop" || finish == "length" || finish == "tool_calls") << finish;
  for (std::size_t i = 0; i + 3 < events.size(); ++i) {
    EXPECT_EQ(events[i]["id"], events[0]["id"]);
    EXPECT_TRUE(events[i]["choices"][0]["finish_reason"].is_null());
  }
}

TEST_F(HttpTest, BadRequests) {
  const int port = StartServer();
  Reply r = Call(port, http::verb::post, "/v1/chat/completions", "{\"messages\": [");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(r.json()["error"]["message"].is_string());
  EXPECT_EQ(r.json()["error"]["type"], "invalid_request_error");
  for (const auto& [field, value] : std::vector<std::pair<std::string, Json>>{
           {"max_tokens", "8"}, {"temperature", "hot"}, {"messages", "hi"}, {"stream", 1}, {"stop", 5}}) {
    Json req = Chat(4);
    req[field] = value;
    Reply bad = Post(port, req);
    EXPECT_EQ(bad.status, 400) << field;
    EXPECT_EQ(bad.json()["error"]["param"], field) << bad.body;
  }
  Json bad_role = Chat(4);
  bad_role["messages"] = {{{"role", "wizard"}, {"content", "x"}}};
  EXPECT_EQ(Post(port, bad_role).status, 400);
  Json tool_choice = Chat(4);
  tool_choice["tools"] = {{{"type", "function"}, {"function", {{"name", "a"}, {"parameters", {{"type", "object"}}}}}}};
  tool_choice["tool_choice"] = {{"type", "function"}, {"function", {{"name", "b"}}}};
  EXPECT_EQ(Post(port, tool_choice).status, 400);
  Reply too_long = Post(port, Chat(100000));
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(too_long.json()["error"]["code"], "context_length_exceeded");
  Json unknown = Chat(4);
  unknown["model"] = "gpt-5";
  Reply nf = Post(port, unknown);
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.json()["error"]["code"], "model_not_found");
}

TEST_F(HttpTest, BodyTooLarge) {
  const int port = StartServer("", 1024);
  Json req = Chat(4);
  req["messages"][0]["content"] = std::string(4096, 'x');
  Reply r = Post(port, req);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Post(port, Chat(2)).status, 200);
}

TEST_F(HttpTest, ApiKey) {
  const int port = StartServer("sekrit");
  EXPECT_EQ(Post(port, Chat(2)).status, 401);
  EXPECT_EQ(Post(port, Chat(2), {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(Call(port, http::verb::get, "/v1/models").status, 401);
  EXPECT_EQ(Post(port, Chat(2), {{"Authorization", "Bearer sekrit"}}).status, 200);
  EXPECT_EQ(Call(port, http::verb::get, "/health").status, 200);
}

TEST_F(HttpTest, MetricsCountWhatClientsSaw) {
  const int port = StartServer();
  const std::string before = Call(port, http::verb::get, "/metrics").body;
  const Json whole = Post(port, Chat(6)).json();
  const std::vector<Json> events = SseEvents(Post(port, Chat(6, true)).body);
  const Json& usage = events[events.size() - 2]["usage"];
  EXPECT_EQ(Post(port, Json{{"messages", 3}}).status, 400);
  Reply after = Call(port, http::verb::get, "/metrics");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.headers["Content-Type"].rfind("text/plain", 0), 0u);
  const std::string& a = after.body;
  EXPECT_EQ(Metric(a, "tessera_requests_total{status=\"200\"}") - Metric(before, "tessera_requests_total{status=\"200\"}"), 2);
  EXPECT_EQ(Metric(a, "tessera_requests_total{status=\"400\"}") - Metric(before, "tessera_requests_total{status=\"400\"}"), 1);
  EXPECT_EQ(Metric(a, "tessera_prompt_tokens_total") - Metric(before, "tessera_prompt_tokens_total"),
            whole["usage"]["prompt_tokens"].get<double>() + usage["prompt_tokens"].get<double>());
  EXPECT_EQ(Metric(a, "tessera_generation_tokens_total") - Metric(before, "tessera_generation_tokens_total"),
            whole["usage"]["completion_tokens"].get<double>() + usage["completion_tokens"].get<double>());
  EXPECT_EQ(Metric(a, "tessera_time_to_first_token_seconds_count") -
                Metric(before, "tessera_time_to_first_token_seconds_count"), 2);
  for (const char* g : {"tessera_queue_depth", "tessera_running_sequences", "tessera_kv_blocks_used"}) {
    EXPECT_NE(a.find(std::string("\n") + g + " "), std::string::npos) << g;
  }
}

TEST_F(HttpTest, StreamingClientDisconnectLeavesServerServing) {
  const int port = StartServer();
  {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    const std::string body = Chat(32, true).dump();
    const std::string req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::write(s, asio::buffer(req));
    char buf[64];
    s.read_some(asio::buffer(buf));
  }  // closed mid-stream
  EXPECT_EQ(Post(port, Chat(2)).status, 200);
}

TEST_F(HttpTest, RunHttpServerServesUntilStopped) {
  std::atomic<bool> stop{false};
  std::atomic<int> port{0};
  HttpOptions o;
  o.port = 0;
  o.model_dir = *model_dir_;
  o.on_listening = [&](int p) { port = p; };
  Status result;
  std::thread t([&] { result = RunHttpServer(*cluster_, o, stop); });
  while (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  Reply models = Call(port, http::verb::get, "/v1/models");
  EXPECT_EQ(models.json()["data"][0]["id"], ModelIdFor(*model_dir_));
  stop = true;
  t.join();
  EXPECT_TRUE(result.ok()) << result;
}

TEST(HttpServerTest, RefusesConnectionsBeyondTheLimit) {
  HttpServerOptions o;
  o.max_connections = 1;
  HttpServer server(o);
  server.Route("GET", "/x", [](const HttpRequest&, ResponseStream&) { return HttpResponse{200, "text/plain", {}, "x"}; });
  ASSERT_TRUE(server.Start().ok());
  asio::io_context io;
  tcp::socket idle(io);
  idle.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.port())));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // accepted and holding the only slot
  Reply busy = Call(server.port(), http::verb::get, "/x");
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.headers["Retry-After"], "1");
  idle.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Call(server.port(), http::verb::get, "/x").status, 200);
}

TEST(HttpServerTest, ClosesIdleKeepAliveConnections) {
  HttpServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(300);
  HttpServer server(o);
  ASSERT_TRUE(server.Start().ok());
  asio::io_context io;
  tcp::socket idle(io);
  idle.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.port())));
  const auto start = std::chrono::steady_clock::now();
  char buf[16];
  beast::error_code ec;
  idle.read_some(asio::buffer(buf), ec);  // returns once the server closes the connection
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  HttpServer server(HttpServerOptions{});
  server.Route("GET", "/x", [](const HttpRequest&, ResponseStream&) { return HttpResponse{200, "text/plain", {}, "x"}; });
  ASSERT_TRUE(server.Start().ok());
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.port())));
  beast::flat_buffer buf;
  for (int i = 0; i < 3; ++i) {
    http::request<http::empty_body> req{http::verb::get, "/x", 11};
    req.set(http::field::host, "x");
    http::write(s, req);
    http::response<http::string_body> res;
    http::read(s, buf, res);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_TRUE(res.keep_alive());
  }
}

// A backend that refuses or fails every request, for the error paths a live cluster rarely takes.
class FakeBackendTest : public ::testing::Test {
 protected:
  int Start(Status submit_error, bool ready) {
    StatusOr<Tokenizer> t = Tokenizer::Default();
    EXPECT_TRUE(t.ok());
    tokenizer_ = std::make_unique<Tokenizer>(std::move(*t));
    Backend b;
    b.submit = [submit_error](RequestSpec) -> StatusOr<std::future<Completion>> {
      if (!submit_error.ok()) return submit_error;
      std::promise<Completion> p;
      p.set_value(Completion{absl::InternalError("worker w0 failed"), {}, {}, "error"});
      return p.get_future();
    };
    b.ready = [ready] { return ready; };
    b.schedulers = [] { return std::vector<const Scheduler*>{}; };
    api_ = std::make_unique<OpenAiApi>(b, *tokenizer_, OpenAiOptions{});
    server_ = std::make_unique<HttpServer>(HttpServerOptions{});
    api_->Install(*server_);
    EXPECT_TRUE(server_->Start().ok());
    return server_->port();
  }
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<OpenAiApi> api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(FakeBackendTest, QueueFullIs429WithRetryAfter) {
  const int port = Start(absl::ResourceExhaustedError("queue full"), true);
  Reply r = Post(port, Chat(4));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["Retry-After"], "1");
  EXPECT_EQ(r.json()["error"]["code"], "queue_full");
}

TEST_F(FakeBackendTest, FailedGenerationIs500AndNotReadyIs503) {
  const int port = Start(absl::OkStatus(), false);
  Reply r = Post(port, Chat(4));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.json()["error"]["type"], "server_error");
  EXPECT_EQ(Call(port, http::verb::get, "/ready").status, 503);
  EXPECT_EQ(Call(port, http::verb::get, "/health").status, 200);
}

TEST(ModelIdTest, BasenameOrDefault) {
  EXPECT_EQ(ModelIdFor("/models/gpt-oss-20b"), "gpt-oss-20b");
  EXPECT_EQ(ModelIdFor("/models/gpt-oss-120b/"), "gpt-oss-120b");
  EXPECT_EQ(ModelIdFor(""), "gpt-oss");
}

class ChatOutputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    StatusOr<Tokenizer> t = Tokenizer::Default();
    ASSERT_TRUE(t.ok()) << t.status();
    tok_ = new Tokenizer(std::move(*t));
  }
  static void TearDownTestSuite() { delete tok_; }
  // Parses `text` (the output after "<|start|>assistant"), returns the deltas.
  std::vector<ChatDelta> Run(ChatOutput& out, const std::string& text) {
    std::vector<ChatDelta> deltas;
    for (TokenId id : tok_->EncodeWithSpecials(text)) out.Push(id, &deltas);
    out.Finish(&deltas);
    return deltas;
  }
  static inline Tokenizer* tok_ = nullptr;
};

TEST_F(ChatOutputTest, ChannelsAndToolCalls) {
  ChatOutput out(*tok_, {});
  Run(out,
      "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary "
      "to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>");
  EXPECT_EQ(out.reasoning(), "Need weather.");
  EXPECT_EQ(out.content(), "");
  ASSERT_EQ(out.tool_calls().size(), 1u);
  EXPECT_EQ(out.tool_calls()[0]["function"]["name"], "get_weather");
  EXPECT_EQ(out.tool_calls()[0]["function"]["arguments"], "{\"city\":\"Paris\"}");
  EXPECT_EQ(out.tool_calls()[0]["id"].get<std::string>().rfind("call_", 0), 0u);
}

TEST_F(ChatOutputTest, StopStringCutsContentAcrossDeltas) {
  ChatOutput out(*tok_, {"STOP", "zz"});
  std::vector<ChatDelta> deltas = Run(out, "<|channel|>final<|message|>Hello there STOP and more<|return|>");
  EXPECT_EQ(out.content(), "Hello there ");
  EXPECT_TRUE(out.stop_string_hit());
  std::string streamed;
  for (const ChatDelta& d : deltas) streamed += d.content;
  EXPECT_EQ(streamed, "Hello there ");
  ChatOutput plain(*tok_, {"STOP"});
  Run(plain, "<|channel|>final<|message|>Hello ST<|return|>");
  EXPECT_EQ(plain.content(), "Hello ST");
  EXPECT_FALSE(plain.stop_string_hit());
}

}  // namespace
}  // namespace tessera::server
