// RFC 3339 timestamps for the store: parsing to an instant and formatting "now".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace faceproof::store_detail {

// Milliseconds since the Unix epoch for "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"
// ('t'/'z'/' ' accepted as in RFC 3339 §5.6 notes); nullopt if malformed or out of range.
std::optional<std::int64_t> parse_rfc3339_ms(const std::string& text);

// The current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string now_rfc3339();
std::int64_t now_unix_ms();

}  // namespace faceproof::store_detail
