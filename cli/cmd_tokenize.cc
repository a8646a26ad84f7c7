// tessera tokenize / detokenize: the o200k_harmony tokenizer from the command line.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/parse.h"
#include "tokenizer/tokenizer.h"

namespace tessera::cli {
namespace {

StatusOr<Tokenizer> Load(const std::string& model) {
  return model.empty() ? Tokenizer::Default() : Tokenizer::FromModelDir(model);
}

}  // namespace

void RegisterTokenize(CLI::App& app) {
  struct Opts {
    std::string model, text, ids;
    bool json = false, specials = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* tok = app.add_subcommand("tokenize", "Text to o200k_harmony token ids");
  tok->add_option("--model", o->model, "checkpoint folder with tokenizer.json (default: shipped o200k_base)");
  tok->add_option("--text", o->text, "text to encode")->required();
  tok->add_flag("--specials", o->specials, "encode special-token strings like <|start|> as control tokens");
  tok->add_flag("--json", o->json, "print {\"ids\":[..]}");
  tok->callback([o] {
    StatusOr<Tokenizer> t = Load(o->model);
    if (!t.ok()) {
      std::cerr << "tessera tokenize: " << t.status().message() << "\n";
      ExitCode() = 1;
      return;
    }
    std::vector<TokenId> ids = o->specials ? t->EncodeWithSpecials(o->text) : t->EncodeOrdinary(o->text);
    if (o->json) {
      std::cout << nlohmann::json{{"ids", ids}}.dump() << "\n";
    } else {
      for (std::size_t i = 0; i < ids.size(); ++i) std::cout << (i ? "," : "") << ids[i];
      std::cout << "\n";
    }
  });

  auto d = std::make_shared<Opts>();
  CLI::App* detok = app.add_subcommand("detokenize", "Token ids to text");
  detok->add_option("--model", d->model, "checkpoint folder with tokenizer.json (default: shipped o200k_base)");
  detok->add_option("--ids", d->ids, "comma-separated token ids")->required();
  detok->add_flag("--json", d->json, "print {\"text\":..} (invalid UTF-8 replaced)");
  detok->callback([d] {
    StatusOr<Tokenizer> t = Load(d->model);
    StatusOr<std::vector<std::int32_t>> ids = ParseIdList(d->ids);
    Status s = !t.ok() ? t.status() : ids.status();
    if (s.ok()) {
      std::vector<TokenId> v(ids->begin(), ids->end());
      StatusOr<std::string> text = t->Decode(v);
      if (text.ok()) {
        if (d->json) {
          std::cout << nlohmann::json{{"text", *text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        } else {
          std::cout << *text << "\n";
        }
        return;
      }
      s = text.status();
    }
    std::cerr << "tessera detokenize: " << s.message() << "\n";
    ExitCode() = 1;
  });
}

}  // namespace tessera::cli
