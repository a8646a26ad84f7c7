// Harmony renderer against golden renderings (tests/data/harmony/README.md says where each comes
// from), the JSON-Schema -> TypeScript rules, and the Chat Completions mapping.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "harmony/chat_completions.h"
#include "harmony/render.h"

namespace tessera::harmony {
namespace {

std::string Golden(const std::string& name) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/tests/data/harmony/" + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  // The reference tests compare against the file with trailing whitespace removed.
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

#ifdef TESSERA_HARMONY_HAS_TOKENIZER
const Tokenizer* SharedTokenizer() {
  static const Tokenizer* tok = [] {
    auto t = Tokenizer::Default();
    return t.ok() ? new Tokenizer(std::move(t).value()) : nullptr;
  }();
  return tok;
}
#endif

// Renders for completion (or the whole conversation) and compares with a golden file: as text,
// and, when the tokenizer is built, as ids against the golden text encoded with its control
// tokens (the reference tests' own check).
void ExpectGolden(const Conversation& c, const std::string& file, RenderOptions options = {},
                  bool for_completion = true) {
  auto p = for_completion ? RenderForCompletion(c, options) : RenderConversation(c, options);
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string golden = Golden(file);
  EXPECT_EQ(p->RenderText(), golden) << file;
#ifdef TESSERA_HARMONY_HAS_TOKENIZER
  if (const Tokenizer* tok = SharedTokenizer()) {
    EXPECT_EQ(p->RenderIds(*tok), tok->EncodeWithSpecials(golden)) << file;
  }
#endif
}

SystemContent System(ReasoningEffort effort) {
  SystemContent s;
  s.reasoning_effort = effort;
  return s;
}

Message Dev(std::string instructions) {
  DeveloperContent d;
  d.instructions = std::move(instructions);
  return Message::Developer(std::move(d));
}

TEST(HarmonyRender, SimpleConvo) {
  Conversation c{{Message::System({}), Message::User("What is 2 + 2?")}};
  ExpectGolden(c, "test_simple_convo.txt");
}

TEST(HarmonyRender, ReasoningEffortVariants) {
  const std::string question = "What is the capital of the largest country in the world?";
  const struct {
    ReasoningEffort effort;
    const char* file;
    bool with_instructions;
  } cases[] = {
      {ReasoningEffort::kLow, "test_simple_convo_low_effort.txt", true},
      {ReasoningEffort::kMedium, "test_simple_convo_medium_effort.txt", true},
      {ReasoningEffort::kHigh, "test_simple_convo_high_effort.txt", true},
      {ReasoningEffort::kLow, "test_simple_convo_low_effort_no_instruction.txt", false},
      {ReasoningEffort::kMedium, "test_simple_convo_medium_effort_no_instruction.txt", false},
      {ReasoningEffort::kHigh, "test_simple_convo_high_effort_no_instruction.txt", false},
  };
  for (const auto& tc : cases) {
    Conversation c{{Message::System(System(tc.effort))}};
    if (tc.with_instructions)
      c.messages.push_back(Dev("Answer the user's questions like a robot."));
    c.messages.push_back(Message::User(question));
    ExpectGolden(c, tc.file);
  }
}

TEST(HarmonyRender, ReasoningSystemMessages) {
  SystemContent s = System(ReasoningEffort::kMedium);
  s.valid_channels = {"analysis", "final"};
  ExpectGolden({{Message::System(s), Message::User("What is 2 + 2?")}},
               "test_reasoning_system_message.txt");

  s.reasoning_effort = ReasoningEffort::kHigh;
  ExpectGolden(
      {{Message::System(s), Message::User("What is the best place to eat candy in the world?")}},
      "test_reasoning_system_message_no_instruction.txt");

  s.reasoning_effort = ReasoningEffort::kMedium;
  s.current_date = "2021-01-01";
  s.knowledge_cutoff = "2021-01";
  ExpectGolden({{Message::System(s), Message::User("What is 42 * pi?")}},
               "test_reasoning_system_message_with_dates.txt");
}

TEST(HarmonyRender, FunctionsWithParameters) {
  SystemContent s = System(ReasoningEffort::kHigh);
  s.current_date = "2025-06-28";
  DeveloperContent d;
  d.instructions = "Always respond in riddles";
  d.function_tools = {
      {"get_location", "Gets the location of the user.", std::nullopt},
      {"get_current_weather", "Gets the current weather in the provided location.",
       Json::parse(R"({"type": "object", "properties": {
           "location": {"type": "string",
                        "description": "The city and state, e.g. San Francisco, CA"},
           "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
           "required": ["location"]})")},
      {"get_multiple_weathers", "Gets the current weather in the provided list of locations.",
       Json::parse(R"({"type": "object", "properties": {
           "locations": {"type": "array", "items": {"type": "string"},
             "description":
               "List of city and state, e.g. [\"San Francisco, CA\", \"New York, NY\"]"},
           "format": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
           "required": ["locations"]})")},
      {"kitchensink", "A function with various complex schemas.",
       Json::parse(R"({"description": "params object", "type": "object", "properties": {
           "string": {"type": "string", "title": "STRING", "description": "A string",
                      "examples": ["hello", "world"]},
           "string_nullable": {"type": "string", "nullable": true,
                               "description": "A nullable string", "default": "the default"},
           "string_enum": {"type": "string", "enum": ["a", "b", "c"]},
           "oneof_string_or_number": {"oneOf": [
               {"type": "string", "default": "default_string_in_oneof"},
               {"type": "number", "description": "numbers can happen too"}],
             "description": "a oneof", "default": 20}}})")},
  };
  Conversation c{{Message::System(s), Message::Developer(d),
                  Message::User("What is the weather like in SF?")}};
  ExpectGolden(c, "test_render_functions_with_parameters.txt");
}

TEST(HarmonyRender, BuiltInTools) {
  SystemContent s;
  s.current_date = "2025-06-28";
  ExpectGolden({{Message::System(s)}}, "test_no_tools.txt");

  SystemContent browser = s;
  browser.WithBrowserTool();
  ExpectGolden({{Message::System(browser)}}, "test_browser_tool_only.txt");

  // Added python first: namespaces are rendered sorted by name.
  SystemContent both = s;
  both.WithPythonTool().WithBrowserTool();
  ExpectGolden({{Message::System(both)}}, "test_browser_and_python_tool.txt");

  DeveloperContent d;
  d.function_tools = {{"lookup_weather",
                       "Use this tool to lookup the weather in a given location. Call it with the "
                       "parameter 'location', can be any textual description of a location.",
                       Json::parse(R"({"type": "object", "properties": {"location": {"type":
                           "string"}}, "required": ["location"]})")}};
  ExpectGolden({{Message::System(browser), Message::Developer(d)}},
               "test_browser_and_function_tool.txt");
}

TEST(HarmonyRender, ChainOfThoughtRetention) {
  Conversation drop{{Message::User("What is 2 + 2?"),
                     Message::Assistant("analysis",
                                        "User asks: \u201cWhat is 2 + 2?\u201d Simple arithmetic. "
                                        "Provide answer."),
                     Message::Assistant("final", "2 + 2 equals 4."),
                     Message::User("What about 9 / 2?")}};
  ExpectGolden(drop, "test_dropping_cot_by_default.txt");

  Conversation keep{{Message::User("What is 2 + 2?"),
                     Message::Assistant("analysis",
                                        "User asks a simple question: \"What is 2 + 2?\" The "
                                        "answer: 4."),
                     Message::Assistant("final", "2 + 2 equals 4."),
                     Message::User("What about 9 / 2?")}};
  ExpectGolden(keep, "test_preserve_cot.txt", {.drop_old_analysis = false});

  // A turn still in tool calls keeps its analysis.
  Message result = Message::ToolResult("functions.lookup_weather",
                                       "{\"temperature\": 20, \"description\": \"sunny\"}");
  result.recipient.clear();
  result.channel.clear();
  Conversation ongoing{
      {Message::User("What is the weather in SF?"),
       Message::Assistant("analysis",
                          "User asks: \u201cWhat is the weather in SF?\u201d We need to use "
                          "lookup_weather tool."),
       Message::ToolCall("functions.lookup_weather", "{\"location\": \"San Francisco\"}"), result}};
  ExpectGolden(ongoing, "test_does_not_drop_if_ongoing_analysis.txt");

  // Rendered as a whole (training style): only the finished earlier turn loses its analysis.
  Conversation two_turns{
      {Message::User("What is 2 + 2?"), Message::Assistant("analysis", "thinking 2+2"),
       Message::Assistant("final", "4"), Message::User("What is 3 + 5?"),
       Message::Assistant("analysis", "thinking 3+5"), Message::Assistant("final", "8")}};
  ExpectGolden(two_turns, "test_keep_analysis_between_finals.txt", {}, /*for_completion=*/false);
}

// Spec §5.10-5.12 worked examples.
SystemContent SpecSystem(ReasoningEffort effort) {
  SystemContent s = System(effort);
  s.current_date = "2025-09-01";
  return s;
}

Json WeatherSchema() {
  return Json::parse(R"({"type": "object", "properties": {
      "city": {"type": "string", "description": "City name, e.g. Oslo"},
      "unit": {"type": "string", "enum": ["c", "f"], "default": "c"}}, "required": ["city"]})");
}

Conversation ExampleB() {
  DeveloperContent d;
  d.instructions = "You are a travel assistant.";
  d.function_tools = {{"get_weather", "Returns current weather for a city.", WeatherSchema()}};
  return {{Message::System(SpecSystem(ReasoningEffort::kMedium)), Message::Developer(d),
           Message::User("Is it cold in Oslo right now?")}};
}

TEST(HarmonyRender, SpecExampleAPlainChat) {
  Conversation c{{Message::System(SpecSystem(ReasoningEffort::kLow)),
                  Dev("Answer in one sentence."), Message::User("Name the largest planet.")}};
  ExpectGolden(c, "spec_example_a_prompt.txt");
  c.messages.push_back(Message::Assistant("analysis", "Simple fact: Jupiter."));
  c.messages.push_back(
      Message::Assistant("final", "The largest planet in our solar system is Jupiter."));
  c.messages.push_back(Message::User("And the smallest?"));
  ExpectGolden(c, "spec_example_a_next_turn.txt");
}

TEST(HarmonyRender, SpecExampleBToolRoundTrip) {
  Conversation c = ExampleB();
  ExpectGolden(c, "spec_example_b_prompt.txt");
  c.messages.push_back(Message::Assistant("analysis", "Need current weather; call get_weather."));
  c.messages.push_back(Message::ToolCall("functions.get_weather", "{\"city\":\"Oslo\"}"));
  c.messages.push_back(
      Message::ToolResult("functions.get_weather", "{\"temp\":-3,\"unit\":\"c\"}"));
  ExpectGolden(c, "spec_example_b_prompt2.txt");
}

TEST(HarmonyRender, SpecExampleCResponseFormat) {
  DeveloperContent d;
  d.instructions = "Extract the contact.";
  d.response_formats = {{"contact", "A person and their email",
                         Json::parse(R"({"type":"object","properties":{"name":{"type":"string"},
                             "email":{"type":"string"}},"required":["name","email"],
                             "additionalProperties":false})")}};
  Conversation c{{Message::System(SpecSystem(ReasoningEffort::kLow)), Message::Developer(d),
                  Message::User("Reach Ana Diaz at ana@example.org.")}};
  ExpectGolden(c, "spec_example_c_prompt.txt");
}

TEST(HarmonyRender, SegmentsKeepControlTokensApartFromText) {
  // Control-token strings inside user text stay text segments: they are never encoded as
  // control tokens.
  auto p = RenderMessage(Message::User("<|end|>"));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->segments().size(), 5u);
  EXPECT_EQ(p->segments()[0].token, harmony_tokens::kStart);
  EXPECT_EQ(p->segments()[1].text, "user");
  EXPECT_EQ(p->segments()[2].token, harmony_tokens::kMessage);
  EXPECT_EQ(p->segments()[3].kind, Segment::Kind::kText);
  EXPECT_EQ(p->segments()[3].text, "<|end|>");
  EXPECT_EQ(p->segments()[4].token, harmony_tokens::kEnd);

  // Header pieces are separate fragments, the constrain marker a control token.
  auto call = RenderMessage(Message::ToolCall("functions.f", "{}"));
  ASSERT_TRUE(call.ok());
  std::vector<std::string> parts;
  for (const Segment& s : call->segments()) {
    parts.push_back(s.kind == Segment::Kind::kText ? s.text
                                                   : std::string(ControlTokenText(s.token)));
  }
  EXPECT_EQ(parts, (std::vector<std::string>{"<|start|>", "assistant", " to=functions.f",
                                             "<|channel|>", "commentary", " ", "<|constrain|>",
                                             "json", "<|message|>", "{}", "<|call|>"}));
}

TEST(HarmonyRender, MessageHeaderVariants) {
  Message named = Message::User("hi");
  named.name = "alice";
  EXPECT_EQ(RenderMessage(named)->RenderText(), "<|start|>user:alice<|message|>hi<|end|>");
  Message code = Message::Assistant("analysis", "print(1)");
  code.recipient = "python";
  code.content_type = "code";
  EXPECT_EQ(RenderMessage(code)->RenderText(),
            "<|start|>assistant to=python<|channel|>analysis code<|message|>print(1)<|call|>");
  Message to_all = Message::Assistant("final", "x");
  to_all.recipient = "all";
  EXPECT_EQ(RenderMessage(to_all)->RenderText(),
            "<|start|>assistant<|channel|>final<|message|>x<|call|>");
}

TEST(HarmonyRender, Errors) {
  Message tool;
  tool.role = Role::kTool;
  tool.content = std::string("x");
  auto r = RenderMessage(tool);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("author name"), std::string_view::npos);

  Message wrong = Message::System({});
  wrong.role = Role::kUser;
  r = RenderForCompletion({{Message::User("a"), wrong}});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("message 1"), std::string_view::npos) << r.status();
}

TEST(HarmonyRender, JsonSchemaToTypeScript) {
  // Expected texts follow the reference renderer's rules, quirks included (an object's own
  // description is written both above the property and after its colon).
  EXPECT_EQ(JsonSchemaToTypeScript(Json::parse(R"({"type": "object", "properties": {
      "user": {"type": "object", "description": "The user", "properties": {
          "name": {"type": "string"}, "age": {"type": "integer", "description": "Years"}},
        "required": ["name"]},
      "tags": {"type": "array",
               "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
      "any": {}, "ids": {"type": ["integer", "null"]}, "mixed": {"type": "array"},
      "flag": {"type": "boolean", "default": true}, "n": {"type": "number", "nullable": true}},
      "required": ["user"]})")),
            "{\n// The user\nuser:     // The user\n{\n    name: string,\n    // Years\n"
            "    age?: number,\n    },\ntags?: {\n    k?: string,\n    }[],\nany?: any,\n"
            "ids?: number | null,\nmixed?: Array<any>,\nflag?: boolean, // default: true\n"
            "n?: number | null,\n}");
  EXPECT_EQ(JsonSchemaToTypeScript(Json::parse(R"({"oneOf": [
      {"type": "string", "description": "a name"},
      {"type": "integer", "default": 3, "nullable": true}]})")),
            "\n | string // a name\n | number | null // default: 3");
  EXPECT_EQ(JsonSchemaToTypeScript(Json::parse(
                R"({"oneOf": [{"type": "string", "enum": ["x", "y"], "default": "x"}]})")),
            "\n | \"x\" | \"y\" // default: \"x\"");
  EXPECT_EQ(JsonSchemaToTypeScript(Json::parse(R"({"type": "object", "properties": {"v": {
      "description": "D", "oneOf": [{"type": "string", "description": "D"},
      {"type": "number", "description": "E", "default": "s"}]}}, "required": ["v"]})")),
            "{\nv:\n | string\n | number // E default: \"s\"\n,\n}");
  EXPECT_EQ(JsonSchemaToTypeScript(Json::parse(R"({"type": "string", "enum": [1, 2]})")), "string");
  EXPECT_EQ(JsonSchemaToTypeScript(Json::parse(R"({"type": "null"})")), "any");
  EXPECT_EQ(JsonSchemaToTypeScript(Json::parse("[1, 2]")), "any");
}

TEST(HarmonyRender, DeveloperToolsAndDescriptions) {
  DeveloperContent d;
  d.function_tools = {{"f", "", std::nullopt},
                      {"g", "a\r\nb\n", Json::parse(R"({"type": "object"})")}};
  EXPECT_EQ(RenderDeveloperContent(d),
            "# Tools\n\n## functions\n\nnamespace functions {\n\ntype f = () => any;\n\n// a\n"
            "// b\ntype g = (_: {\n}) => any;\n\n} // namespace functions");
  d.instructions = "Be brief.";
  d.response_formats = {{"r", "", Json::parse(R"({"type": "string"})")}};
  EXPECT_TRUE(RenderDeveloperContent(d).starts_with("# Instructions\n\nBe brief.\n\n# Tools"));
  EXPECT_TRUE(RenderDeveloperContent(d).ends_with(
      "} // namespace functions\n\n# Response Formats\n\n## r\n\n{\"type\":\"string\"}"));
}

// Chat Completions requests producing the spec examples.
ChatCompletionsOptions SpecOptions() {
  ChatCompletionsOptions o;
  o.system.current_date = "2025-09-01";
  return o;
}

void ExpectChatGolden(std::string_view request, const std::string& file) {
  auto c = ConversationFromChatCompletionsText(request, SpecOptions());
  ASSERT_TRUE(c.ok()) << c.status();
  ExpectGolden(*c, file);
}

TEST(HarmonyChatCompletions, SpecExamples) {
  ExpectChatGolden(R"({"reasoning_effort": "low", "messages": [
      {"role": "system", "content": "Answer in one sentence."},
      {"role": "user", "content": [{"type": "text", "text": "Name the largest "},
                                   {"type": "text", "text": "planet."}]}]})",
                   "spec_example_a_prompt.txt");
  ExpectChatGolden(R"({"reasoning": {"effort": "low"}, "messages": [
      {"role": "developer", "content": "Answer in one sentence."},
      {"role": "user", "content": "Name the largest planet."},
      {"role": "assistant", "reasoning": "Simple fact: Jupiter.",
       "content": "The largest planet in our solar system is Jupiter."},
      {"role": "user", "content": "And the smallest?"}]})",
                   "spec_example_a_next_turn.txt");
  ExpectChatGolden(R"({"tools": [{"type": "function", "function": {"name": "get_weather",
        "description": "Returns current weather for a city.",
        "parameters": {"type": "object", "properties": {
          "city": {"type": "string", "description": "City name, e.g. Oslo"},
          "unit": {"type": "string", "enum": ["c", "f"], "default": "c"}},
          "required": ["city"]}}}],
      "messages": [{"role": "system", "content": "You are a travel assistant."},
        {"role": "user", "content": "Is it cold in Oslo right now?"},
        {"role": "assistant", "content": null,
         "reasoning_content": "Need current weather; call get_weather.",
         "tool_calls": [{"id": "call_1", "type": "function",
           "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":-3,\"unit\":\"c\"}"}]})",
                   "spec_example_b_prompt2.txt");
  ExpectChatGolden(R"({"reasoning_effort": "low", "response_format": {"type": "json_schema",
        "json_schema": {"name": "contact", "description": "A person and their email",
          "strict": true, "schema": {"type": "object", "properties": {"name": {"type": "string"},
          "email": {"type": "string"}}, "required": ["name", "email"],
          "additionalProperties": false}}},
      "messages": [{"role": "system", "content": "Extract the contact."},
        {"role": "user", "content": "Reach Ana Diaz at ana@example.org."}]})",
                   "spec_example_c_prompt.txt");
}

TEST(HarmonyChatCompletions, Errors) {
  const struct {
    const char* request;
    const char* expected;  // part of the message
  } cases[] = {
      {R"({"messages": [{"role": "robot", "content": "x"}]})",
       "messages[0].role: unknown role 'robot'"},
      {R"({"messages": [{"role": "tool", "tool_call_id": "call_9", "content": "x"}]})", "'call_9'"},
      {R"({"messages": [{"role": "user", "content": 3}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "image_url"},
      {R"({"messages": [], "reasoning_effort": "none"})", "reasoning_effort"},
      {R"({"messages": [], "tools": [{"type": "web_search"}]})", "tools[0]"},
      {R"({"messages": [], "tools": [{"type": "function", "function": {"name": "f",
          "parameters": "x"}}]})",
       "tools[0].function.parameters"},
      {R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {}}]}]})",
       "messages[0].tool_calls[0].function.name"},
      {R"({"messages": {}})", "messages"},
      {R"({"messages": [)", "not valid JSON"},
  };
  for (const auto& tc : cases) {
    auto c = ConversationFromChatCompletionsText(tc.request);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << tc.request;
    EXPECT_NE(c.status().message().find(tc.expected), std::string_view::npos) << c.status();
  }
}

TEST(HarmonyChatCompletions, PreambleCallsAndLaterSystemMessages) {
  auto c = ConversationFromChatCompletionsText(R"({"messages": [
      {"role": "user", "content": "hi"},
      {"role": "system", "content": "late rule"},
      {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "a", "function": {"name": "f", "arguments": {"x": 1}}}]},
      {"role": "tool", "tool_call_id": "a", "content": "ok"}]})");
  ASSERT_TRUE(c.ok()) << c.status();
  auto p = RenderForCompletion(*c);
  ASSERT_TRUE(p.ok());
  EXPECT_NE(p->RenderText().find(
                "<|start|>user<|message|>hi<|end|><|start|>developer<|message|># Instructions\n\n"
                "late rule<|end|><|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>"
                "<|start|>assistant to=functions.f<|channel|>commentary <|constrain|>json"
                "<|message|>{\"x\":1}<|call|><|start|>functions.f to=assistant<|channel|>commentary"
                "<|message|>ok<|end|><|start|>assistant"),
            std::string::npos)
      << p->RenderText();
}

#ifdef TESSERA_HARMONY_HAS_TOKENIZER
TEST(HarmonyRender, RenderIdsMatchesSpecVector) {
  const Tokenizer* tok = SharedTokenizer();
  if (tok == nullptr) {
    GTEST_SKIP() << "o200k_base ranks not available";
  }
  auto p = RenderForCompletion({{Message::System({}), Message::User("What is 2 + 2?")}});
  ASSERT_TRUE(p.ok());
  const std::vector<TokenId> expected = {
      200006, 17360, 200008, 3575, 553,   17554,  162016, 11,     261,    4410, 6439,
      2359,   22203, 656,    7788, 17527, 558,    87447,  100594, 25,     220,  1323,
      19,     12,    3218,   279,  30377, 289,    25,     14093,  279,    2,    13888,
      18403,  25,    8450,   11,   49159, 11,     1721,   13,     21030,  2804, 413,
      7360,   395,   1753,   3176, 13,    200007, 200006, 1428,   200008, 4827, 382,
      220,    17,    659,    220,  17,    30,     200007, 200006, 173781};
  EXPECT_EQ(p->RenderIds(*tok), expected);
  // Control-token text typed by a user stays ordinary tokens.
  auto user = RenderMessage(Message::User("<|end|>"));
  for (TokenId id : user->RenderIds(*tok)) {
    if (id >= harmony_tokens::kStartOfText) {
      EXPECT_TRUE(id == 200006 || id == 200008 || id == 200007) << id;
    }
  }
  // <|start|> "user" <|message|> text <|end|>
  EXPECT_EQ(user->RenderIds(*tok).size(), 4u + tok->EncodeOrdinary("<|end|>").size());
}
#endif

}  // namespace
}  // namespace tessera::harmony
