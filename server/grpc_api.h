// The gRPC generation API (tessera.v1.Generation): streamed generation from chat messages or raw
// token ids, Tokenize and Detokenize. Served next to grpc.health.v1 and server reflection.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "server/openai_api.h"
#include "tessera/v1/generation.grpc.pb.h"
#include "tokenizer/tokenizer.h"

namespace tessera::server {

class GenerationService final : public v1::Generation::Service {
 public:
  // `tokenizer` and what `backend` refers to must outlive the service.
  GenerationService(Backend backend, const Tokenizer& tokenizer, std::string model_id)
      : backend_(std::move(backend)), tokenizer_(tokenizer), model_id_(std::move(model_id)) {}

  grpc::Status Generate(grpc::ServerContext* ctx, const v1::GenerateRequest* req,
                        grpc::ServerWriter<v1::GenerateEvent>* writer) override;
  grpc::Status Tokenize(grpc::ServerContext* ctx, const v1::TokenizeRequest* req, v1::TokenizeResponse* resp) override;
  grpc::Status Detokenize(grpc::ServerContext* ctx, const v1::DetokenizeRequest* req,
                          v1::DetokenizeResponse* resp) override;

 private:
  Backend backend_;
  const Tokenizer& tokenizer_;
  std::string model_id_;
};

// Starts a gRPC server on host:port (0: any free port) with `service`, health checking and
// reflection; `*bound_port` receives the port.
StatusOr<std::unique_ptr<grpc::Server>> StartGrpcServer(GenerationService* service, const std::string& host, int port,
                                                        int* bound_port);

}  // namespace tessera::server
