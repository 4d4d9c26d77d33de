// Cryptographic digests (OpenSSL): content hashes of runbooks, the timeline's hash chain.
#pragma once

#include <string>
#include <string_view>

namespace rb {

/// sha256 of bytes, lowercase hex (64 characters).
std::string sha256_hex(std::string_view bytes);

}  // namespace rb
