// The tessera binary's text commands end to end: tokenize, render (against the spec's worked
// example), generate from a chat prompt with parsed output, and clear errors on bad input.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;
const std::string kTessera = std::string(TESSERA_BINARY_DIR) + "/bin/tessera";

std::pair<int, std::string> Sh(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(Cli, TokenizeMatchesTheReferenceIds) {
  auto [code, out] = Sh(kTessera + " tokenize --text 'What is 2 + 2?' --json");
  ASSERT_EQ(code, 0);
  EXPECT_EQ(json::parse(out)["ids"], json::parse("[4827,382,220,17,659,220,17,30]"));
}

TEST(Cli, RenderReproducesTheFunctionCallExample) {
  const std::string msgs = Write("cli_msgs.json", R"([{"role":"system","content":"You are a travel assistant."},
      {"role":"user","content":"Is it cold in Oslo right now?"}])");
  const std::string tools = Write("cli_tools.json", R"([{"type":"function","function":{"name":"get_weather",
      "description":"Returns current weather for a city.","parameters":{"type":"object","properties":{
      "city":{"type":"string","description":"City name, e.g. Oslo"},
      "unit":{"type":"string","enum":["c","f"],"default":"c"}},"required":["city"]}}}])");
  auto [code, out] = Sh(kTessera + " render --messages " + msgs + " --tools " + tools + " --date 2025-09-01 --json");
  ASSERT_EQ(code, 0);
  const json r = json::parse(out);
  EXPECT_EQ(r["text"].get<std::string>(), Read(std::string(TESSERA_SOURCE_DIR) + "/tests/data/harmony/spec_example_b_prompt.txt"));
  EXPECT_EQ(r["ids"][0], 200006);
  EXPECT_EQ(r["ids"].back(), 173781);  // ...<|start|>assistant
}

TEST(Cli, GenerateFromTextReportsParsedOutput) {
  auto [code, out] = Sh(kTessera + " --log-level warn generate --prompt 'Hello' --max-tokens 6 --temperature 0 --json");
  ASSERT_EQ(code, 0);
  const json r = json::parse(out);
  EXPECT_LE(r["output_ids"].size(), 6u);
  ASSERT_TRUE(r.contains("parsed"));
  EXPECT_TRUE(r["parsed"].contains("stop"));
  EXPECT_EQ(r["prompt_ids"].back(), 173781);
}

TEST(Cli, BadInputGetsAClearErrorAndExitCode) {
  const std::string bad = Write("cli_bad.json", R"([{"role":"robot","content":"x"}])");
  auto [code, out] = Sh(kTessera + " render --messages " + bad + " 2>&1");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("unknown role 'robot'"), std::string::npos) << out;
  std::tie(code, out) = Sh(kTessera + " generate --prompt-ids 1,x,3 2>&1");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("'x' is not a token id"), std::string::npos) << out;
  std::tie(code, out) = Sh(kTessera + " generate --prompt-ids 1,2 --max-tokens 5000 2>&1");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("exceeds the context"), std::string::npos) << out;
  std::tie(code, out) = Sh(kTessera + " generate --model /nonexistent --prompt-ids 1 2>&1");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("/nonexistent"), std::string::npos) << out;
}

TEST(Cli, ChatKeepsAConversationOverTurns) {
  auto [code, out] = Sh("printf 'Hi\\nAnd again?\\n' | " + kTessera + " --log-level warn chat --max-tokens 6 --temperature 0");
  EXPECT_EQ(code, 0) << out;
  std::size_t turns = 0;
  for (std::size_t at = out.find("[end of turn]"); at != std::string::npos; at = out.find("[end of turn]", at + 1)) ++turns;
  EXPECT_EQ(turns, 2u) << out;
  std::tie(code, out) = Sh("echo hi | " + kTessera + " chat --tools /nonexistent.json 2>&1");
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("/nonexistent.json"), std::string::npos) << out;
}

TEST(Cli, ServeAnswersScoreAndRawCompletions) {
  const std::string log = testing::TempDir() + "/cli_serve_" + std::to_string(::getpid()) + ".log";
  FILE* p = ::popen(("exec " + kTessera + " serve --http-port 0 2>" + log).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char line[512];
  std::string port;
  while (std::fgets(line, sizeof line, p)) {
    const std::string l(line);
    const auto at = l.find("listening on ");
    if (at != std::string::npos) {
      port = l.substr(l.rfind(':') + 1);
      port.erase(port.find_last_not_of("\n") + 1);
      break;
    }
  }
  ASSERT_FALSE(port.empty()) << "serve did not start; see " << log;
  const std::string url = "http://127.0.0.1:" + port + "/score";
  auto [code, out] = Sh("curl -s -X POST " + url + " -H 'content-type: application/json' -d "
                        "'{\"messages\":[{\"role\":\"user\",\"content\":\"Capital of Australia?\"}],\"max_new_tokens\":5}'");
  EXPECT_EQ(code, 0);
  const json r = json::parse(out, nullptr, false);
  ASSERT_TRUE(r.is_object()) << out;
  EXPECT_TRUE(r.contains("output") && r["output"].is_string()) << out;
  std::tie(code, out) = Sh("curl -s -o /dev/null -w '%{http_code}' -X POST " + url + " -d '{\"max_new_tokens\":5}'");
  EXPECT_EQ(out, "400");
  // Raw completions: text (control strings are control tokens) or token ids.
  const std::string completions = "http://127.0.0.1:" + port + "/v1/completions";
  std::tie(code, out) = Sh("curl -s -X POST " + completions + " -d '{\"prompt\":\"<|start|>user<|message|>Hi\",\"max_tokens\":4}'");
  json c = json::parse(out, nullptr, false);
  ASSERT_TRUE(c.is_object()) << out;
  EXPECT_EQ(c["object"], "text_completion") << out;
  EXPECT_EQ(c["usage"]["prompt_tokens"], 4) << out;  // <|start|> user <|message|> Hi
  EXPECT_LE(c["usage"]["completion_tokens"].get<int>(), 4);
  std::tie(code, out) = Sh("curl -s -X POST " + completions + " -d '{\"prompt\":[1,2,3],\"max_tokens\":3,\"logprobs\":2}'");
  c = json::parse(out, nullptr, false);
  EXPECT_EQ(c["usage"]["prompt_tokens"], 3) << out;
  std::tie(code, out) = Sh("curl -s -o /dev/null -w '%{http_code}' -X POST " + completions + " -d '{\"prompt\":[999999]}'");
  EXPECT_EQ(out, "400");
  std::system(("pkill -INT -f '[s]erve --http-port 0' -P " + std::to_string(::getpid())).c_str());
  ::pclose(p);
}

}  // namespace
