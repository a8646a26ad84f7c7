#include "harmony/chat.h"

#include <utility>

namespace tessera::harmony {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSystem:
      return "system";
    case Role::kDeveloper:
      return "developer";
    case Role::kUser:
      return "user";
    case Role::kAssistant:
      return "assistant";
    case Role::kTool:
      return "tool";
  }
  return "unknown";
}

std::optional<Role> RoleFromName(std::string_view name) {
  for (Role r : {Role::kSystem, Role::kDeveloper, Role::kUser, Role::kAssistant, Role::kTool}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

std::string_view ReasoningEffortName(ReasoningEffort effort) {
  switch (effort) {
    case ReasoningEffort::kLow:
      return "low";
    case ReasoningEffort::kMedium:
      return "medium";
    case ReasoningEffort::kHigh:
      return "high";
  }
  return "medium";
}

std::optional<ReasoningEffort> ReasoningEffortFromName(std::string_view name) {
  for (ReasoningEffort e :
       {ReasoningEffort::kLow, ReasoningEffort::kMedium, ReasoningEffort::kHigh}) {
    if (ReasoningEffortName(e) == name) return e;
  }
  return std::nullopt;
}

// The texts and schemas below are the ones gpt-oss was trained with (openai/harmony chat.rs);
// they must stay byte-identical.
ToolNamespace ToolNamespace::Browser() {
  ToolNamespace ns;
  ns.name = "browser";
  ns.description =
      "Tool for browsing.\n"
      "The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n"
      "Cite information from the tool using the following format:\n"
      "`\u3010{cursor}\u2020L{line_start}(-L{line_end})?\u3011`, for example: "
      "`\u30106\u2020L9-L11\u3011` or `\u30108\u2020L3\u3011`.\n"
      "Do not quote more than 10 words directly from the tool output.\n"
      "sources=web (default: web)";
  ns.tools.push_back({"search",
                      "Searches for information related to `query` and displays `topn` results.",
                      Json::parse(R"({"type": "object", "properties": {"query": {"type": "string"},
           "topn": {"type": "number", "default": 10}, "source": {"type": "string"}},
           "required": ["query"]})")});
  ns.tools.push_back(
      {"open",
       "Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, "
       "showing `num_lines` lines.\n"
       "Valid link ids are displayed with the formatting: `\u3010{id}\u2020.*\u3011`.\n"
       "If `cursor` is not provided, the most recent page is implied.\n"
       "If `id` is a string, it is treated as a fully qualified URL associated with `source`.\n"
       "If `loc` is not provided, the viewport will be positioned at the beginning of the "
       "document or centered on the most relevant passage, if available.\n"
       "Use this function without `id` to scroll to a new location of an opened page.",
       Json::parse(R"({"type": "object", "properties": {
           "id": {"type": ["number", "string"], "default": -1},
           "cursor": {"type": "number", "default": -1},
           "loc": {"type": "number", "default": -1},
           "num_lines": {"type": "number", "default": -1},
           "view_source": {"type": "boolean", "default": false},
           "source": {"type": "string"}}})")});
  ns.tools.push_back(
      {"find",
       "Finds exact matches of `pattern` in the current page, or the page given by `cursor`.",
       Json::parse(R"({"type": "object", "properties": {"pattern": {"type": "string"},
           "cursor": {"type": "number", "default": -1}}, "required": ["pattern"]})")});
  return ns;
}

ToolNamespace ToolNamespace::Python() {
  ToolNamespace ns;
  ns.name = "python";
  ns.description =
      "Use this tool to execute Python code in your chain of thought. The code will not be shown "
      "to the user. This tool should be used for internal reasoning, but not for code that is "
      "intended to be visible to the user (e.g. when creating plots, tables, or files).\n\n"
      "When you send a message containing Python code to python, it will be executed in a "
      "stateful Jupyter notebook environment. python will respond with the output of the "
      "execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to save "
      "and persist user files. Internet access for this session is UNKNOWN. Depends on the "
      "cluster.";
  return ns;
}

SystemContent& SystemContent::WithBrowserTool() {
  tools.push_back(ToolNamespace::Browser());
  return *this;
}

SystemContent& SystemContent::WithPythonTool() {
  tools.push_back(ToolNamespace::Python());
  return *this;
}

Message Message::System(SystemContent content) {
  Message m;
  m.role = Role::kSystem;
  m.content = std::move(content);
  return m;
}

Message Message::Developer(DeveloperContent content) {
  Message m;
  m.role = Role::kDeveloper;
  m.content = std::move(content);
  return m;
}

Message Message::User(std::string text) {
  Message m;
  m.role = Role::kUser;
  m.content = std::move(text);
  return m;
}

Message Message::Assistant(std::string channel, std::string text) {
  Message m;
  m.role = Role::kAssistant;
  m.channel = std::move(channel);
  m.content = std::move(text);
  return m;
}

Message Message::ToolCall(std::string recipient, std::string arguments) {
  Message m = Assistant("commentary", std::move(arguments));
  m.recipient = std::move(recipient);
  m.content_type = "<|constrain|>json";
  return m;
}

Message Message::ToolResult(std::string tool_name, std::string text) {
  Message m;
  m.role = Role::kTool;
  m.name = std::move(tool_name);
  m.recipient = "assistant";
  m.channel = "commentary";
  m.content = std::move(text);
  return m;
}

}  // namespace tessera::harmony
