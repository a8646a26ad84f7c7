#include "server/serve.h"

#include <filesystem>
#include <thread>

#include "core/log.h"
#include "server/http_server.h"
#include "server/openai_api.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

std::string ModelIdFor(const std::string& model_dir) {
  std::filesystem::path p(model_dir);
  if (!p.has_filename()) p = p.parent_path();  // "dir/" names "dir"
  const std::string name = p.filename().string();
  return name.empty() ? "gpt-oss" : name;
}

Status RunHttpServer(Cluster& cluster, const HttpOptions& options, std::atomic<bool>& stop) {
  TESSERA_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::FromModelDir(options.model_dir));
  OpenAiOptions api_options;
  api_options.model_id = options.model_id.empty() ? ModelIdFor(options.model_dir) : options.model_id;
  api_options.api_key = options.api_key;
  api_options.default_max_tokens = options.default_max_tokens;
  OpenAiApi api(BackendFor(cluster), tokenizer, api_options);

  HttpServerOptions http;
  http.host = options.host;
  http.port = options.port;
  http.max_connections = options.max_connections;
  http.body_limit = options.body_limit;
  HttpServer server(http);
  api.Install(server);
  TESSERA_RETURN_IF_ERROR(server.Start());
  if (options.on_listening) options.on_listening(server.port());
  while (!stop && cluster.healthy()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.Stop();
  if (!cluster.healthy()) return absl::UnavailableError("a worker was lost; stopped serving");
  return absl::OkStatus();
}

}  // namespace tessera::server
