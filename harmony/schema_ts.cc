// JSON Schema -> TypeScript-like text, matching the reference renderer (openai/harmony
// json_schema_to_typescript) byte for byte, quirks included: the model was trained on its output.
#include <set>
#include <string>

#include "harmony/render.h"
#include "harmony/render_internal.h"

namespace tessera::harmony {
namespace {

// Member `key` of an object, or nullptr (also for non-objects), like serde_json's Value::get.
const Json* Get(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const std::string* GetString(const Json& j, const char* key) {
  const Json* v = Get(j, key);
  return v != nullptr && v->is_string() ? v->get_ptr<const std::string*>() : nullptr;
}

bool IsEnum(const Json& schema) {
  const Json* e = Get(schema, "enum");
  return e != nullptr && e->is_array() && !e->empty();
}

bool IsNullable(const Json& schema) {
  const Json* n = Get(schema, "nullable");
  return n != nullptr && n->is_boolean() && n->get<bool>();
}

std::string WithNullable(const Json& schema, std::string type) {
  if (IsNullable(schema) && type.find("null") == std::string::npos) type += " | null";
  return type;
}

// "default: ..." as the reference writes it in trailing comments. `unquote_enum` selects the
// property-level behaviour where an enum's string default is written bare; the top-level oneOf
// path writes it as a JSON string instead.
std::string DefaultText(const Json& schema, const Json& value, bool unquote_enum) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (!IsEnum(schema)) return "default: \"" + s + "\"";
    if (unquote_enum) return "default: " + s;
  }
  return "default: " + internal::DumpJson(value);
}

std::string TrailingComments(const std::vector<std::string>& comments) {
  return comments.empty() ? std::string() : " // " + internal::Join(comments, " ");
}

std::string TopLevelOneOf(const Json& variants, const std::string& indent) {
  std::string out;
  for (const Json& variant : variants) {
    out += "\n" + indent + " | ";
    out += WithNullable(variant, JsonSchemaToTypeScript(variant, indent + "   "));
    std::vector<std::string> comments;
    if (const std::string* d = GetString(variant, "description")) comments.push_back(*d);
    if (const Json* def = Get(variant, "default")) {
      comments.push_back(DefaultText(variant, *def, /*unquote_enum=*/false));
    }
    out += TrailingComments(comments);
  }
  return out;
}

// A property whose schema has a oneOf array: comments above, "name?:" alone on a line, then one
// " | T" line per variant and a closing "," line.
std::string OneOfProperty(const std::string& key, const Json& val, const Json& variants,
                          bool required, const std::string& indent) {
  std::string out;
  const std::string* property_desc = GetString(val, "description");
  bool skip_desc = false;
  if (property_desc != nullptr && !variants.empty()) {
    const std::string* first_desc = GetString(variants.front(), "description");
    skip_desc = first_desc != nullptr && *first_desc == *property_desc;
  }
  bool desc_above = false;
  if (!skip_desc && property_desc != nullptr) {
    out += indent + "// " + *property_desc + "\n";
    desc_above = true;
  }
  if (const Json* def = Get(val, "default")) {
    out += indent + "// " + DefaultText(val, *def, /*unquote_enum=*/true) + "\n";
  }
  out += indent + key + (required ? "" : "?") + ":\n";
  std::size_t i = 0;
  for (const Json& variant : variants) {
    out += indent + " | ";
    out += WithNullable(variant, JsonSchemaToTypeScript(variant, indent + "   "));
    std::vector<std::string> comments;
    const std::string* d = GetString(variant, "description");
    if (!(i == 0 && desc_above) && d != nullptr &&
        (property_desc == nullptr || *d != *property_desc)) {
      comments.push_back(*d);
    }
    if (const Json* def = Get(variant, "default")) {
      comments.push_back(DefaultText(variant, *def, /*unquote_enum=*/true));
    }
    out += TrailingComments(comments) + "\n";
    ++i;
  }
  out += indent + ",\n";
  return out;
}

std::string ObjectType(const Json& schema, const std::string& indent) {
  std::string out;
  if (const std::string* d = GetString(schema, "description")) out += indent + "// " + *d + "\n";
  out += "{\n";
  const Json* props = Get(schema, "properties");
  if (props != nullptr && props->is_object()) {
    std::set<std::string> required;
    if (const Json* req = Get(schema, "required"); req != nullptr && req->is_array()) {
      for (const Json& r : *req) {
        if (r.is_string()) required.insert(r.get<std::string>());
      }
    }
    for (const auto& [key, val] : props->items()) {
      const bool is_required = required.count(key) > 0;
      const Json* one_of = Get(val, "oneOf");
      if (const std::string* t = GetString(val, "title")) {
        out += indent + "// " + *t + "\n" + indent + "//\n";
      }
      if (one_of == nullptr) {
        if (const std::string* d = GetString(val, "description")) out += indent + "// " + *d + "\n";
      }
      if (const Json* ex = Get(val, "examples"); ex != nullptr && ex->is_array() && !ex->empty()) {
        out += indent + "// Examples:\n";
        for (const Json& e : *ex) {
          if (e.is_string()) out += indent + "// - \"" + e.get<std::string>() + "\"\n";
        }
      }
      if (one_of != nullptr && one_of->is_array()) {
        out += OneOfProperty(key, val, *one_of, is_required, indent);
        continue;
      }
      out += indent + key + (is_required ? "" : "?") + ": ";
      out += WithNullable(val, JsonSchemaToTypeScript(val, indent + "    "));
      out += ",";
      if (one_of == nullptr) {
        if (const Json* def = Get(val, "default")) {
          out += " // " + DefaultText(val, *def, /*unquote_enum=*/true);
        }
      }
      out += "\n";
    }
  }
  out += indent + "}";
  return out;
}

}  // namespace

std::string JsonSchemaToTypeScript(const Json& schema, const std::string& indent) {
  if (const Json* one_of = Get(schema, "oneOf"); one_of != nullptr && one_of->is_array()) {
    return TopLevelOneOf(*one_of, indent);
  }
  const Json* type = Get(schema, "type");
  if (type != nullptr && type->is_array()) {
    std::vector<std::string> names;
    for (const Json& t : *type) {
      if (!t.is_string()) continue;
      const auto& s = t.get_ref<const std::string&>();
      names.push_back(s == "integer" ? "number" : s);
    }
    if (!names.empty()) return internal::Join(names, " | ");
  }
  if (type == nullptr || !type->is_string()) return "any";
  const auto& t = type->get_ref<const std::string&>();
  if (t == "object") return ObjectType(schema, indent);
  if (t == "string") {
    if (const Json* e = Get(schema, "enum"); e != nullptr && e->is_array()) {
      std::vector<std::string> values;
      for (const Json& v : *e) {
        if (v.is_string()) values.push_back("\"" + v.get<std::string>() + "\"");
      }
      if (!values.empty()) return internal::Join(values, " | ");
    }
    return "string";
  }
  if (t == "number" || t == "integer") return "number";
  if (t == "boolean") return "boolean";
  if (t == "array") {
    const Json* items = Get(schema, "items");
    return items != nullptr ? JsonSchemaToTypeScript(*items, indent) + "[]" : "Array<any>";
  }
  return "any";
}

namespace internal {

std::string RenderToolsSection(const std::vector<const ToolNamespace*>& namespaces) {
  std::vector<std::string> sections = {"# Tools"};
  for (const ToolNamespace* ns : namespaces) {
    std::vector<std::string> lines = {"## " + ns->name + "\n"};
    if (ns->description.has_value()) {
      for (std::string_view line : Lines(*ns->description)) {
        lines.push_back(ns->tools.empty() ? std::string(line) : "// " + std::string(line));
      }
    }
    if (!ns->tools.empty()) {
      lines.push_back("namespace " + ns->name + " {\n");
      for (const ToolDescription& tool : ns->tools) {
        for (std::string_view line : Lines(tool.description)) {
          lines.push_back("// " + std::string(line));
        }
        if (tool.parameters.has_value()) {
          lines.push_back("type " + tool.name +
                          " = (_: " + JsonSchemaToTypeScript(*tool.parameters, "") + ") => any;\n");
        } else {
          lines.push_back("type " + tool.name + " = () => any;\n");
        }
      }
      lines.push_back("} // namespace " + ns->name);
    }
    sections.push_back(Join(lines, "\n"));
  }
  return Join(sections, "\n\n");
}

}  // namespace internal
}  // namespace tessera::harmony
