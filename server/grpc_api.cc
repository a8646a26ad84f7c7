#include "server/grpc_api.h"

#include <condition_variable>
#include <mutex>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "harmony/chat_completions.h"
#include "harmony/render.h"
#include "server/chat_output.h"

namespace tessera::server {
namespace {

using Json = nlohmann::ordered_json;

grpc::Status Invalid(const std::string& m) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, m); }

grpc::Status FromStatus(const Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// The chat input as a Chat Completions body, so the one Harmony mapping serves both APIs.
StatusOr<Json> ChatBody(const v1::ChatInput& chat) {
  Json body = {{"messages", Json::array()}};
  for (const v1::ChatMessage& m : chat.messages()) {
    Json msg = {{"role", m.role()}, {"content", m.content()}};
    if (!m.reasoning().empty()) msg["reasoning"] = m.reasoning();
    if (!m.tool_call_id().empty()) msg["tool_call_id"] = m.tool_call_id();
    for (const v1::ToolCall& c : m.tool_calls()) {
      msg["tool_calls"].push_back({{"id", c.id()}, {"type", "function"},
                                   {"function", {{"name", c.name()}, {"arguments", c.arguments_json()}}}});
    }
    body["messages"].push_back(std::move(msg));
  }
  for (const v1::FunctionTool& t : chat.tools()) {
    Json params = t.parameters_json().empty() ? Json(nullptr) : Json::parse(t.parameters_json(), nullptr, false);
    if (params.is_discarded()) return absl::InvalidArgumentError("tool " + t.name() + ": parameters_json is not JSON");
    body["tools"].push_back({{"type", "function"}, {"function", {{"name", t.name()}, {"description", t.description()},
                                                                 {"parameters", params}}}});
  }
  if (!chat.reasoning_effort().empty()) body["reasoning_effort"] = chat.reasoning_effort();
  if (!chat.response_schema_json().empty()) {
    Json schema = Json::parse(chat.response_schema_json(), nullptr, false);
    if (schema.is_discarded()) return absl::InvalidArgumentError("response_schema_json is not JSON");
    body["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", "response"}, {"schema", schema}}}};
  }
  return body;
}

// Tokens arriving from the step loop, handed to the RPC's thread.
struct Stream {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<TokenId> ids;
  std::vector<float> logprobs;
};

}  // namespace

grpc::Status GenerationService::Generate(grpc::ServerContext* ctx, const v1::GenerateRequest* req,
                                         grpc::ServerWriter<v1::GenerateEvent>* writer) {
  if (!req->model().empty() && req->model() != model_id_)
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "model '" + req->model() + "' is not served here");
  RequestSpec spec;
  const bool chat = req->has_chat();
  if (chat) {
    StatusOr<Json> body = ChatBody(req->chat());
    if (!body.ok()) return FromStatus(body.status());
    harmony::ChatCompletionsOptions options;
    options.system.current_date = TodayUtc();
    StatusOr<harmony::Conversation> conv = harmony::ConversationFromChatCompletions(*body, options);
    if (!conv.ok()) return FromStatus(conv.status());
    StatusOr<harmony::Prompt> prompt = harmony::RenderForCompletion(*conv);
    if (!prompt.ok()) return FromStatus(prompt.status());
    spec.prompt = prompt->RenderIds(tokenizer_);
    spec.stop_ids = {200002, 200012};
  } else if (req->has_tokens()) {
    for (std::uint32_t id : req->tokens().ids()) {
      if (id >= tokenizer_.vocab_size()) return Invalid("token id " + std::to_string(id) + " is outside the vocabulary");
      spec.prompt.push_back(id);
    }
    spec.stop_ids = {200002, 200012, 199999};
  } else {
    return Invalid("give chat messages or token ids");
  }
  if (req->max_tokens() < 0) return Invalid("max_tokens must not be negative");
  spec.max_tokens = req->max_tokens() > 0 ? req->max_tokens() : 1024;
  if (req->has_sampling()) {
    const v1::SamplingParams& s = req->sampling();
    if (s.temperature() < 0 || s.top_p() < 0 || s.top_p() > 1 || s.top_k() < 0) return Invalid("sampling parameters out of range");
    spec.sampling = {s.temperature(), s.top_p() > 0 ? s.top_p() : 1.0f, s.top_k(), s.seed()};
  }
  spec.top_logprobs = std::max(0, req->top_logprobs());
  auto stream = std::make_shared<Stream>();
  spec.on_token = [stream](TokenId id, float lp) {
    {
      std::lock_guard lock(stream->mu);
      stream->ids.push_back(id);
      stream->logprobs.push_back(lp);
    }
    stream->cv.notify_one();
  };
  spec.cancelled = std::make_shared<std::atomic<bool>>(false);
  auto cancelled = spec.cancelled;
  const std::size_t prompt_tokens = spec.prompt.size();
  StatusOr<std::future<Completion>> fut = backend_.submit(std::move(spec));
  if (!fut.ok()) {
    if (fut.status().code() == absl::StatusCode::kOutOfRange) return Invalid(std::string(fut.status().message()));
    return FromStatus(fut.status());
  }
  ChatOutput out(tokenizer_, std::vector<std::string>(req->stop().begin(), req->stop().end()));
  std::size_t sent = 0;
  bool calls = false;
  auto forward = [&](bool final) {
    std::vector<TokenId> ids;
    std::vector<float> lps;
    {
      std::unique_lock lock(stream->mu);
      if (!final) stream->cv.wait_for(lock, std::chrono::milliseconds(20), [&] { return stream->ids.size() > sent; });
      ids.assign(stream->ids.begin() + sent, stream->ids.end());
      lps.assign(stream->logprobs.begin() + sent, stream->logprobs.end());
    }
    std::vector<ChatDelta> deltas;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (chat) {
        out.Push(ids[i], &deltas);
      } else {
        v1::GenerateEvent e;
        e.mutable_token()->set_id(ids[i]);
        e.mutable_token()->set_logprob(lps[i]);
        writer->Write(e);
      }
    }
    sent += ids.size();
    if (final && chat) out.Finish(&deltas);
    for (const ChatDelta& d : deltas) {
      v1::GenerateEvent e;
      if (!d.reasoning.empty()) {
        e.mutable_reasoning_delta()->set_text(d.reasoning);
        writer->Write(e);
      }
      if (!d.content.empty()) {
        e.mutable_content_delta()->set_text(d.content);
        writer->Write(e);
      }
      if (!d.tool_call.is_null()) {
        calls = true;
        v1::ToolCall* c = e.mutable_tool_call();
        c->set_id(d.tool_call.value("id", ""));
        c->set_name(d.tool_call["function"].value("name", ""));
        c->set_arguments_json(d.tool_call["function"].value("arguments", ""));
        writer->Write(e);
      }
    }
  };
  while (fut->wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (ctx->IsCancelled()) {
      cancelled->store(true);  // frees the sequence's KV blocks at the next step
      return grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the call");
    }
    forward(false);
    if (out.stop_string_hit()) cancelled->store(true);
  }
  Completion c = fut->get();
  if (!c.status.ok()) return FromStatus(c.status);
  forward(true);
  v1::GenerateEvent usage;
  usage.mutable_usage()->set_prompt_tokens(static_cast<int>(prompt_tokens));
  usage.mutable_usage()->set_completion_tokens(static_cast<int>(c.output.size()));
  writer->Write(usage);
  v1::GenerateEvent finish;
  finish.mutable_finish()->set_reason(calls ? "tool_calls"
                                      : (c.finish_reason == "length" && !out.stop_string_hit() ? "length" : "stop"));
  writer->Write(finish);
  return grpc::Status::OK;
}

grpc::Status GenerationService::Tokenize(grpc::ServerContext*, const v1::TokenizeRequest* req, v1::TokenizeResponse* resp) {
  for (TokenId id : tokenizer_.EncodeOrdinary(req->text())) resp->add_ids(id);
  return grpc::Status::OK;
}

grpc::Status GenerationService::Detokenize(grpc::ServerContext*, const v1::DetokenizeRequest* req,
                                           v1::DetokenizeResponse* resp) {
  std::vector<TokenId> ids(req->ids().begin(), req->ids().end());
  StatusOr<std::string> text = tokenizer_.Decode(ids);
  if (!text.ok()) return Invalid(std::string(text.status().message()));
  resp->set_text(*text);
  return grpc::Status::OK;
}

StatusOr<std::unique_ptr<grpc::Server>> StartGrpcServer(GenerationService* service, const std::string& host, int port,
                                                        int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(host + ":" + std::to_string(port), grpc::InsecureServerCredentials(), bound_port);
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(16 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || *bound_port == 0)
    return absl::UnavailableError("cannot listen for gRPC on " + host + ":" + std::to_string(port));
  return server;
}

}  // namespace tessera::server
