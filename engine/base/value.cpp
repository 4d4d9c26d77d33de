#include "base/value.h"

namespace rb {

bool truthy(const Value& v) {
  switch (v.type()) {
    case Value::value_t::null: return false;
    case Value::value_t::boolean: return v.get<bool>();
    case Value::value_t::number_integer: return v.get<long long>() != 0;
    case Value::value_t::number_unsigned: return v.get<unsigned long long>() != 0;
    case Value::value_t::number_float: return v.get<double>() != 0.0;
    case Value::value_t::string: return !v.get_ref<const std::string&>().empty();
    case Value::value_t::array:
    case Value::value_t::object: return !v.empty();
    default: return false;
  }
}

std::string to_text(const Value& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump(-1, ' ', false, Value::error_handler_t::replace);
}

Value parse_json_bounded(std::string_view text) {
  // One linear pass for the nesting depth (brackets inside strings do not count).
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return Value(Value::value_t::discarded);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Value::parse(text, nullptr, false);
}

}  // namespace rb
