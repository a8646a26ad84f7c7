// Message and conversation rendering, following the reference renderer's header layout:
// <|start|>author[ to=recipient][<|channel|>channel][ content-type]<|message|>content<|end|>
#include "harmony/render.h"

#include <algorithm>
#include <map>
#include <utility>

#include "harmony/render_internal.h"

namespace tessera::harmony {
namespace ht = harmony_tokens;

namespace internal {

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace internal

std::string_view ControlTokenText(TokenId id) {
  switch (id) {
    case ht::kStartOfText:
      return "<|startoftext|>";
    case ht::kEndOfText:
      return "<|endoftext|>";
    case ht::kReturn:
      return "<|return|>";
    case ht::kConstrain:
      return "<|constrain|>";
    case ht::kChannel:
      return "<|channel|>";
    case ht::kStart:
      return "<|start|>";
    case ht::kEnd:
      return "<|end|>";
    case ht::kMessage:
      return "<|message|>";
    case ht::kCall:
      return "<|call|>";
    default:
      return "";
  }
}

void Prompt::AddText(std::string text) {
  if (text.empty()) return;
  segments_.push_back({Segment::Kind::kText, std::move(text), 0});
}

void Prompt::AddControl(TokenId id) { segments_.push_back({Segment::Kind::kControl, {}, id}); }

void Prompt::Append(const Prompt& other) {
  segments_.insert(segments_.end(), other.segments_.begin(), other.segments_.end());
}

std::string Prompt::RenderText() const {
  std::string out;
  for (const Segment& s : segments_) {
    out += s.kind == Segment::Kind::kText ? std::string_view(s.text) : ControlTokenText(s.token);
  }
  return out;
}

std::string RenderSystemContent(const SystemContent& sys, bool conversation_has_function_tools) {
  std::vector<std::string> sections;
  std::vector<std::string> top;
  if (sys.model_identity) top.push_back(*sys.model_identity);
  if (sys.knowledge_cutoff) top.push_back("Knowledge cutoff: " + *sys.knowledge_cutoff);
  if (sys.current_date) top.push_back("Current date: " + *sys.current_date);
  if (!top.empty()) sections.push_back(internal::Join(top, "\n"));
  if (sys.reasoning_effort) {
    sections.push_back("Reasoning: " + std::string(ReasoningEffortName(*sys.reasoning_effort)));
  }
  if (!sys.tools.empty()) {
    // Sorted by name with later entries replacing earlier ones, as the reference's BTreeMap does.
    std::map<std::string, const ToolNamespace*> by_name;
    for (const ToolNamespace& ns : sys.tools) by_name[ns.name] = &ns;
    std::vector<const ToolNamespace*> sorted;
    for (const auto& [name, ns] : by_name) sorted.push_back(ns);
    sections.push_back(internal::RenderToolsSection(sorted));
  }
  if (!sys.valid_channels.empty()) {
    std::string channels = "# Valid channels: " + internal::Join(sys.valid_channels, ", ") + ".";
    if (sys.channel_required) channels += " Channel must be included for every message.";
    if (conversation_has_function_tools) {
      channels += "\nCalls to these tools must go to the commentary channel: 'functions'.";
    }
    sections.push_back(std::move(channels));
  }
  return internal::Join(sections, "\n\n");
}

std::string RenderDeveloperContent(const DeveloperContent& dev) {
  std::vector<std::string> sections;
  if (dev.instructions) {
    sections.push_back("# Instructions");
    sections.push_back(*dev.instructions);
  }
  if (!dev.function_tools.empty()) {
    ToolNamespace functions{"functions", std::nullopt, dev.function_tools};
    sections.push_back(internal::RenderToolsSection({&functions}));
  }
  if (!dev.response_formats.empty()) {
    // Not part of the reference renderer; the layout of the gpt-oss documentation (spec §5.8).
    std::vector<std::string> formats = {"# Response Formats"};
    for (const ResponseFormat& f : dev.response_formats) {
      std::string block = "## " + f.name + "\n\n";
      for (std::string_view line : internal::Lines(f.description)) {
        block += "// " + std::string(line) + "\n";
      }
      block += internal::DumpJson(f.schema);
      formats.push_back(std::move(block));
    }
    sections.push_back(internal::Join(formats, "\n\n"));
  }
  return internal::Join(sections, "\n\n");
}

StatusOr<Prompt> RenderMessage(const Message& m, bool conversation_has_function_tools) {
  Prompt p;
  p.AddControl(ht::kStart);
  if (m.role == Role::kTool) {
    // A tool's message is authored by the tool's own name; the word "tool" never appears.
    if (m.name.empty()) {
      return absl::InvalidArgumentError("tool message has no author name (e.g. functions.NAME)");
    }
    p.AddText(m.name);
  } else {
    p.AddText(std::string(RoleName(m.role)));
    if (!m.name.empty()) p.AddText(":" + m.name);
  }
  if (!m.recipient.empty() && m.recipient != "all") p.AddText(" to=" + m.recipient);
  if (!m.channel.empty()) {
    p.AddControl(ht::kChannel);
    p.AddText(m.channel);
  }
  if (!m.content_type.empty()) {
    constexpr std::string_view kConstrain = "<|constrain|>";
    if (m.content_type.starts_with(kConstrain)) {
      p.AddText(" ");
      p.AddControl(ht::kConstrain);
      p.AddText(m.content_type.substr(kConstrain.size()));
    } else {
      p.AddText(" " + m.content_type);
    }
  }
  p.AddControl(ht::kMessage);
  if (const auto* sys = std::get_if<SystemContent>(&m.content)) {
    if (m.role != Role::kSystem) {
      return absl::InvalidArgumentError(
          absl::StrCat("system content may only appear in a system message, found in a ",
                       std::string(RoleName(m.role)), " message"));
    }
    p.AddText(RenderSystemContent(*sys, conversation_has_function_tools));
  } else if (const auto* dev = std::get_if<DeveloperContent>(&m.content)) {
    if (m.role != Role::kDeveloper) {
      return absl::InvalidArgumentError(
          absl::StrCat("developer content may only appear in a developer message, found in a ",
                       std::string(RoleName(m.role)), " message"));
    }
    p.AddText(RenderDeveloperContent(*dev));
  } else {
    p.AddText(std::get<std::string>(m.content));
  }
  // An assistant message with a recipient is a call: the model stops sampling on <|call|>.
  p.AddControl(m.role == Role::kAssistant && !m.recipient.empty() ? ht::kCall : ht::kEnd);
  return p;
}

namespace {

bool HasFunctionTools(const Conversation& c) {
  return std::any_of(c.messages.begin(), c.messages.end(), [](const Message& m) {
    const auto* dev = std::get_if<DeveloperContent>(&m.content);
    return dev != nullptr && !dev->function_tools.empty();
  });
}

bool IsFinal(const Message& m) { return m.role == Role::kAssistant && m.channel == "final"; }

// Index of the final answer before which analysis is dropped: the last final answer that the
// conversation has moved past (one followed by another message), or for a completion prompt the
// last final answer of all. -1 when none.
long DropBoundary(const Conversation& c, bool for_completion) {
  const long n = static_cast<long>(c.messages.size());
  for (long i = n - 1; i >= 0; --i) {
    if (IsFinal(c.messages[i]) && (for_completion || i + 1 < n)) return i;
  }
  return -1;
}

StatusOr<Prompt> RenderMessages(const Conversation& c, const RenderOptions& options,
                                bool for_completion) {
  const bool has_functions = HasFunctionTools(c);
  const long boundary = options.drop_old_analysis ? DropBoundary(c, for_completion) : -1;
  Prompt out;
  for (std::size_t i = 0; i < c.messages.size(); ++i) {
    const Message& m = c.messages[i];
    if (static_cast<long>(i) < boundary && m.channel == "analysis") continue;
    auto rendered = RenderMessage(m, has_functions);
    if (!rendered.ok()) {
      return absl::Status(rendered.status().code(),
                          absl::StrCat("message ", i, ": ", rendered.status().message()));
    }
    out.Append(*rendered);
  }
  return out;
}

}  // namespace

StatusOr<Prompt> RenderConversation(const Conversation& conversation,
                                    const RenderOptions& options) {
  return RenderMessages(conversation, options, /*for_completion=*/false);
}

StatusOr<Prompt> RenderForCompletion(const Conversation& conversation,
                                     const RenderOptions& options) {
  auto prompt = RenderMessages(conversation, options, /*for_completion=*/true);
  if (!prompt.ok()) return prompt;
  prompt->AddControl(ht::kStart);
  prompt->AddText("assistant");
  return prompt;
}

}  // namespace tessera::harmony
