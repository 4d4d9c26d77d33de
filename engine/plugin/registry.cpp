#include "plugin/plugin.h"

#include <fmt/format.h>

#include "yaml/check.h"

namespace rb::plugin {

void check_rendered_duration(const yaml::Node& params, const Value& rendered, const char* key) {
  if (!rendered.is_object() || !rendered.contains(key)) return;
  std::string text = to_text(rendered[key]), why;
  if (parse_duration(text, &why)) return;
  const yaml::Node* at = params.is_map() ? params.get(key) : nullptr;
  throw RenderError{at ? yaml::text_pos(*at) : SourcePos{}, fmt::format("'{}': {}", key, why)};
}

std::string Plugin::describe(const Value& params) const {
  return name() + " " + params.dump(-1, ' ', false, Value::error_handler_t::replace);
}

bool Registry::add(std::unique_ptr<Plugin> p) {
  std::string n = p->name();
  if (plugins_.count(n)) return false;
  plugins_.emplace(std::move(n), std::move(p));
  return true;
}

Plugin* Registry::find(const std::string& name) {
  if (auto it = plugins_.find(name); it != plugins_.end()) return it->second.get();
  if (auto it = external_.find(name); it != external_.end()) return it->second.get();
  if (!resolver_) return nullptr;
  auto p = resolver_(name);
  if (!p) return nullptr;
  return external_.emplace(name, std::move(p)).first->second.get();
}

void Registry::finish_run() {
  for (auto& [k, p] : plugins_) p->finish_run();
  for (auto& [k, p] : external_) p->finish_run();
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (auto& [k, v] : plugins_) out.push_back(k);
  return out;
}

}  // namespace rb::plugin
