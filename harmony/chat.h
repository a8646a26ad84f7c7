// Conversation types of the Harmony chat format used by gpt-oss: messages, the system message
// content (identity, dates, reasoning effort, built-in tool namespaces) and the developer message
// content (instructions, function tools, response formats).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tessera::harmony {

// Schemas keep the key order they were written in: the TypeScript rendering lists properties in
// that order, and the model was trained on it.
using Json = nlohmann::ordered_json;

enum class Role { kSystem, kDeveloper, kUser, kAssistant, kTool };

// "system", "developer", "user", "assistant", "tool".
std::string_view RoleName(Role role);
// Inverse of RoleName; nullopt for anything else.
std::optional<Role> RoleFromName(std::string_view name);

enum class ReasoningEffort { kLow, kMedium, kHigh };

// "low", "medium", "high".
std::string_view ReasoningEffortName(ReasoningEffort effort);
std::optional<ReasoningEffort> ReasoningEffortFromName(std::string_view name);

inline constexpr std::string_view kDefaultModelIdentity =
    "You are ChatGPT, a large language model trained by OpenAI.";
inline constexpr std::string_view kDefaultKnowledgeCutoff = "2024-06";

struct ToolDescription {
  std::string name;
  std::string description;         // one "// " comment line per line; may be empty
  std::optional<Json> parameters;  // JSON Schema; nullopt renders `() => any`
};

// A namespace of tools ("functions", "browser", "python"). A namespace without tools renders its
// description as plain text (python); one with tools renders it as comments.
struct ToolNamespace {
  std::string name;
  std::optional<std::string> description;
  std::vector<ToolDescription> tools;

  static ToolNamespace Browser();
  static ToolNamespace Python();
};

struct SystemContent {
  std::optional<std::string> model_identity = std::string(kDefaultModelIdentity);
  std::optional<std::string> knowledge_cutoff = std::string(kDefaultKnowledgeCutoff);
  std::optional<std::string> current_date;  // "YYYY-MM-DD"
  std::optional<ReasoningEffort> reasoning_effort = ReasoningEffort::kMedium;
  // Built-in tool namespaces; rendered sorted by name, a later one replacing an earlier of the
  // same name.
  std::vector<ToolNamespace> tools;
  // Listed in "# Valid channels: ..."; empty drops that section.
  std::vector<std::string> valid_channels = {"analysis", "commentary", "final"};
  bool channel_required = true;

  SystemContent& WithBrowserTool();
  SystemContent& WithPythonTool();
};

// A structured-output format, rendered under "# Response Formats".
struct ResponseFormat {
  std::string name;
  std::string description;  // optional; empty omits the comment line
  Json schema;
};

struct DeveloperContent {
  std::optional<std::string> instructions;
  std::vector<ToolDescription> function_tools;  // namespace "functions"
  std::vector<ResponseFormat> response_formats;
};

using Content = std::variant<std::string, SystemContent, DeveloperContent>;

struct Message {
  Role role = Role::kUser;
  // Author name. For kTool messages this is the whole author (e.g. "functions.get_weather");
  // for other roles it renders as "role:name".
  std::string name;
  std::string recipient;     // empty (or "all") means no recipient
  std::string channel;       // empty means no channel
  std::string content_type;  // e.g. "<|constrain|>json", "json", "code"; empty means none
  Content content;

  const std::string* text() const { return std::get_if<std::string>(&content); }

  static Message System(SystemContent content);
  static Message Developer(DeveloperContent content);
  static Message User(std::string text);
  // An assistant message on `channel` ("analysis", "commentary", "final").
  static Message Assistant(std::string channel, std::string text);
  // An assistant call: recipient e.g. "functions.get_weather", channel commentary, content type
  // "<|constrain|>json", the arguments as content.
  static Message ToolCall(std::string recipient, std::string arguments);
  // A tool's answer: authored by the tool ("functions.get_weather"), addressed to the assistant,
  // on the commentary channel.
  static Message ToolResult(std::string tool_name, std::string text);
};

struct Conversation {
  std::vector<Message> messages;
};

}  // namespace tessera::harmony
