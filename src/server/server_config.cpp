#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "faceproof/error.hpp"
#include "faceproof/server.hpp"
#include "util/text_file.hpp"

namespace faceproof {
namespace {

// Whether the JSON number v is a value of the integer type T. nlohmann's get<T> converts with a
// plain cast: undefined for a float out of T's range (1e300, -1.5 for a size), silently wrapped for
// an integer (-1 bytes, port 4294967297) (found with inputs written for fuzz/fuzz_config.cpp).
template <class T>
bool fits_integer(const nlohmann::json& v) {
    using limits = std::numeric_limits<T>;
    if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(limits::max());
    if (v.is_number_integer()) {
        const auto x = v.get<std::int64_t>();
        return x < 0 ? limits::is_signed && x >= static_cast<std::int64_t>(limits::min())
                     : static_cast<std::uint64_t>(x) <= static_cast<std::uint64_t>(limits::max());
    }
    // A float: integral and inside [min, max + 1), both bounds powers of two exact in a double.
    const double x = v.get<double>();
    const double end = std::ldexp(1.0, limits::digits);
    return std::isfinite(x) && x == std::trunc(x) && x < end && x >= (limits::is_signed ? -end : 0.0);
}

template <class T>
void take(const nlohmann::json& j, const char* name, T& out) {
    if (!j.contains(name)) return;
    const auto& v = j.at(name);
    const auto wrong = [&](const char* why) {
        return Error(ErrorCode::invalid_argument, std::string("server config: \"") + name + "\" " + why);
    };
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (!v.is_number()) throw wrong("has the wrong type");
        if (!fits_integer<T>(v)) throw wrong("is not a whole number in range");
    }
    try {
        out = v.get<T>();
    } catch (const nlohmann::json::exception&) {
        throw wrong("has the wrong type");
    }
}

}  // namespace

ServerConfig ServerConfig::from_file(const std::filesystem::path& file) {
    return from_json_text(read_text_file(file, "server config"), file.string());
}

ServerConfig ServerConfig::from_json_text(const std::string& text, const std::string& origin) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(ErrorCode::invalid_argument, origin + ": not a JSON object");
    static const char* kKeys[] = {"host", "port", "db", "key_file", "models_dir", "workers", "queue", "max_body_bytes",
                                  "max_image_bytes", "max_image_pixels", "max_image_side", "request_timeout_s",
                                  "rate_limit_per_minute", "lockout_failures", "lockout_window_s", "lockout_s",
                                  "retain_images", "sync_interval_s"};
    for (const auto& [key, _] : j.items())
        if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
            throw Error(ErrorCode::invalid_argument, origin + ": unknown setting \"" + key + "\"");
    ServerConfig c;
    take(j, "host", c.host);
    take(j, "port", c.port);
    take(j, "db", c.db);
    // Through take(): a non-string threw nlohmann's type_error instead of Error (fuzz_config).
    const auto take_path = [&](const char* name, std::optional<std::filesystem::path>& out) {
        if (!j.contains(name)) return;
        std::string text;
        take(j, name, text);
        out = text;
    };
    take_path("key_file", c.key_file);
    take_path("models_dir", c.models_dir);
    take(j, "workers", c.workers);
    take(j, "queue", c.queue);
    take(j, "max_body_bytes", c.max_body_bytes);
    take(j, "max_image_bytes", c.image_limits.max_bytes);
    take(j, "max_image_pixels", c.image_limits.max_pixels);
    take(j, "max_image_side", c.image_limits.max_side);
    take(j, "request_timeout_s", c.request_timeout_s);
    take(j, "rate_limit_per_minute", c.rate_limit_per_minute);
    take(j, "lockout_failures", c.lockout_failures);
    take(j, "lockout_window_s", c.lockout_window_s);
    take(j, "lockout_s", c.lockout_s);
    take(j, "retain_images", c.retain_images);
    take(j, "sync_interval_s", c.sync_interval_s);
    return c;
}

}  // namespace faceproof
