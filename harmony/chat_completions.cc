#include "harmony/chat_completions.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "harmony/render_internal.h"

namespace tessera::harmony {
namespace {

absl::Status Bad(const std::string& where, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

std::string TypeName(const Json& j) { return j.type_name(); }

// Member `key` when present and not null, else nullptr. Never throws.
const Json* Field(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

StatusOr<std::string> OptionalString(const Json& obj, const char* key, const std::string& where) {
  const Json* v = Field(obj, key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) {
    return Bad(absl::StrCat(where, ".", key),
               absl::StrCat("expected a string, got ", TypeName(*v)));
  }
  return v->get<std::string>();
}

// "content" as text: a string, or the concatenation of an array's text parts.
StatusOr<std::string> ContentText(const Json& msg, const std::string& where) {
  const Json* c = Field(msg, "content");
  if (c == nullptr) return std::string();
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) {
    return Bad(where + ".content",
               absl::StrCat("expected a string or an array of parts, got ", TypeName(*c)));
  }
  std::string text;
  for (std::size_t j = 0; j < c->size(); ++j) {
    const Json& part = (*c)[j];
    const std::string part_where = absl::StrCat(where, ".content[", j, "]");
    if (part.is_string()) {  // some clients send bare strings
      text += part.get<std::string>();
      continue;
    }
    if (!part.is_object()) return Bad(part_where, "expected an object");
    TESSERA_ASSIGN_OR_RETURN(std::string type, OptionalString(part, "type", part_where));
    if (!type.empty() && type != "text" && type != "input_text" && type != "output_text") {
      return Bad(part_where, absl::StrCat("content part type '", type, "' is not supported"));
    }
    TESSERA_ASSIGN_OR_RETURN(std::string part_text, OptionalString(part, "text", part_where));
    text += part_text;
  }
  return text;
}

StatusOr<std::optional<ReasoningEffort>> Effort(const Json& request) {
  const Json* v = Field(request, "reasoning_effort");
  std::string where = "reasoning_effort";
  if (v == nullptr) {
    if (const Json* r = Field(request, "reasoning"); r != nullptr && r->is_object()) {
      v = Field(*r, "effort");
      where = "reasoning.effort";
    }
  }
  if (v == nullptr) return std::optional<ReasoningEffort>();
  if (!v->is_string()) return Bad(where, absl::StrCat("expected a string, got ", TypeName(*v)));
  auto effort = ReasoningEffortFromName(v->get<std::string>());
  if (!effort) {
    return Bad(where,
               absl::StrCat("must be low, medium or high, got '", v->get<std::string>(), "'"));
  }
  return effort;
}

Status AddTools(const Json& request, DeveloperContent& dev) {
  const Json* tools = Field(request, "tools");
  if (tools == nullptr) return absl::OkStatus();
  if (!tools->is_array()) return Bad("tools", "expected an array");
  for (std::size_t i = 0; i < tools->size(); ++i) {
    const Json& t = (*tools)[i];
    const std::string where = absl::StrCat("tools[", i, "]");
    if (!t.is_object()) return Bad(where, "expected an object");
    TESSERA_ASSIGN_OR_RETURN(std::string type, OptionalString(t, "type", where));
    if (!type.empty() && type != "function") {
      return Bad(where, absl::StrCat("tool type '", type, "' is not supported"));
    }
    const Json* fn = Field(t, "function");
    if (fn == nullptr || !fn->is_object()) return Bad(where + ".function", "expected an object");
    ToolDescription tool;
    TESSERA_ASSIGN_OR_RETURN(tool.name, OptionalString(*fn, "name", where + ".function"));
    if (tool.name.empty()) return Bad(where + ".function.name", "missing");
    TESSERA_ASSIGN_OR_RETURN(tool.description,
                             OptionalString(*fn, "description", where + ".function"));
    if (const Json* p = Field(*fn, "parameters")) {
      if (!p->is_object()) return Bad(where + ".function.parameters", "expected an object");
      tool.parameters = *p;
    }
    dev.function_tools.push_back(std::move(tool));
  }
  return absl::OkStatus();
}

Status AddResponseFormat(const Json& request, DeveloperContent& dev) {
  const Json* rf = Field(request, "response_format");
  if (rf == nullptr) return absl::OkStatus();
  if (!rf->is_object()) return Bad("response_format", "expected an object");
  TESSERA_ASSIGN_OR_RETURN(std::string type, OptionalString(*rf, "type", "response_format"));
  if (type == "text" || type == "json_object") return absl::OkStatus();  // nothing to render
  if (type != "json_schema") {
    return Bad("response_format.type", absl::StrCat("'", type, "' is not supported"));
  }
  const Json* js = Field(*rf, "json_schema");
  if (js == nullptr || !js->is_object()) {
    return Bad("response_format.json_schema", "expected an object");
  }
  ResponseFormat format;
  TESSERA_ASSIGN_OR_RETURN(format.name, OptionalString(*js, "name", "response_format.json_schema"));
  if (format.name.empty()) return Bad("response_format.json_schema.name", "missing");
  TESSERA_ASSIGN_OR_RETURN(format.description,
                           OptionalString(*js, "description", "response_format.json_schema"));
  const Json* schema = Field(*js, "schema");
  if (schema == nullptr || !schema->is_object()) {
    return Bad("response_format.json_schema.schema", "expected an object");
  }
  format.schema = *schema;
  dev.response_formats.push_back(std::move(format));
  return absl::OkStatus();
}

// One assistant message of the request -> analysis, preamble or final, and call messages.
Status AddAssistant(const Json& msg, const std::string& where,
                    std::map<std::string, std::string>& call_names, std::vector<Message>& out) {
  bool has_reasoning = false;
  for (const char* key : {"reasoning", "reasoning_content", "thinking"}) {
    TESSERA_ASSIGN_OR_RETURN(std::string reasoning, OptionalString(msg, key, where));
    if (!reasoning.empty()) {
      out.push_back(Message::Assistant("analysis", std::move(reasoning)));
      has_reasoning = true;
      break;
    }
  }
  TESSERA_ASSIGN_OR_RETURN(std::string text, ContentText(msg, where));
  const Json* calls = Field(msg, "tool_calls");
  if (calls != nullptr && !calls->is_array()) {
    return Bad(where + ".tool_calls", "expected an array");
  }
  if (calls == nullptr || calls->empty()) {
    // Reasoning alone (no answer yet) adds no empty final message.
    if (!text.empty() || !has_reasoning) {
      out.push_back(Message::Assistant("final", std::move(text)));
    }
    return absl::OkStatus();
  }
  if (!text.empty()) out.push_back(Message::Assistant("commentary", std::move(text)));
  for (std::size_t j = 0; j < calls->size(); ++j) {
    const Json& call = (*calls)[j];
    const std::string cw = absl::StrCat(where, ".tool_calls[", j, "]");
    if (!call.is_object()) return Bad(cw, "expected an object");
    TESSERA_ASSIGN_OR_RETURN(std::string id, OptionalString(call, "id", cw));
    const Json* fn = Field(call, "function");
    if (fn == nullptr || !fn->is_object()) return Bad(cw + ".function", "expected an object");
    TESSERA_ASSIGN_OR_RETURN(std::string name, OptionalString(*fn, "name", cw + ".function"));
    if (name.empty()) return Bad(cw + ".function.name", "missing");
    std::string arguments = "{}";
    if (const Json* a = Field(*fn, "arguments")) {
      arguments = a->is_string() ? a->get<std::string>() : internal::DumpJson(*a);
    }
    if (!id.empty()) call_names[id] = name;
    out.push_back(Message::ToolCall("functions." + name, std::move(arguments)));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<Conversation> ConversationFromChatCompletions(const Json& request,
                                                       const ChatCompletionsOptions& options) {
  if (!request.is_object()) return Bad("request", "expected a JSON object");
  const Json* messages = Field(request, "messages");
  if (messages == nullptr || !messages->is_array()) return Bad("messages", "expected an array");

  SystemContent system = options.system;
  TESSERA_ASSIGN_OR_RETURN(std::optional<ReasoningEffort> effort, Effort(request));
  if (effort) system.reasoning_effort = effort;

  DeveloperContent dev;
  TESSERA_RETURN_IF_ERROR(AddTools(request, dev));
  TESSERA_RETURN_IF_ERROR(AddResponseFormat(request, dev));

  std::vector<std::string> instructions;
  std::vector<Message> body;
  std::map<std::string, std::string> call_names;  // tool_call_id -> function name
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const Json& msg = (*messages)[i];
    const std::string where = absl::StrCat("messages[", i, "]");
    if (!msg.is_object()) return Bad(where, "expected an object");
    TESSERA_ASSIGN_OR_RETURN(std::string role, OptionalString(msg, "role", where));
    if (role == "system" || role == "developer") {
      TESSERA_ASSIGN_OR_RETURN(std::string text, ContentText(msg, where));
      if (body.empty()) {
        instructions.push_back(std::move(text));
      } else {
        body.push_back(Message::Developer(DeveloperContent{std::move(text), {}, {}}));
      }
    } else if (role == "user") {
      TESSERA_ASSIGN_OR_RETURN(std::string text, ContentText(msg, where));
      body.push_back(Message::User(std::move(text)));
    } else if (role == "assistant") {
      TESSERA_RETURN_IF_ERROR(AddAssistant(msg, where, call_names, body));
    } else if (role == "tool") {
      TESSERA_ASSIGN_OR_RETURN(std::string id, OptionalString(msg, "tool_call_id", where));
      TESSERA_ASSIGN_OR_RETURN(std::string name, OptionalString(msg, "name", where));
      if (!id.empty()) {
        auto it = call_names.find(id);
        if (it == call_names.end()) {
          return Bad(where + ".tool_call_id",
                     absl::StrCat("'", id, "' does not match any earlier assistant tool call"));
        }
        name = it->second;
      } else if (name.empty()) {
        return Bad(where, "tool message needs a tool_call_id");
      }
      TESSERA_ASSIGN_OR_RETURN(std::string text, ContentText(msg, where));
      body.push_back(Message::ToolResult("functions." + name, std::move(text)));
    } else if (role.empty()) {
      return Bad(where + ".role", "missing");
    } else {
      return Bad(where + ".role", absl::StrCat("unknown role '", role, "'"));
    }
  }

  if (!instructions.empty()) dev.instructions = absl::StrJoin(instructions, "\n\n");
  Conversation conv;
  conv.messages.push_back(Message::System(std::move(system)));
  if (dev.instructions || !dev.function_tools.empty() || !dev.response_formats.empty()) {
    conv.messages.push_back(Message::Developer(std::move(dev)));
  }
  for (Message& m : body) conv.messages.push_back(std::move(m));
  return conv;
}

StatusOr<Conversation> ConversationFromChatCompletionsText(std::string_view body,
                                                           const ChatCompletionsOptions& options) {
  Json request = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded()) return Bad("request", "not valid JSON");
  return ConversationFromChatCompletions(request, options);
}

}  // namespace tessera::harmony
