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
    return from_json_text(read_text_file(file, "server config", input_limit::server_config), file.string());
}

ServerConfig ServerConfig::from_json_text(const std::string& text, const std::string& origin) {
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(ErrorCode::invalid_argument, origin + ": not a JSON object");
    static const char* kKeys[] = {"host", "port", "db", "key_file", "models_dir", "workers", "queue", "max_body_bytes",
                                  "max_image_bytes", "max_image_pixels", "max_image_side", "max_request_decoded_bytes",
                                  "request_timeout_s", "max_connections", "max_connections_per_address",
                                  "header_timeout_s", "body_min_rate_bytes_per_s", "keep_alive_s",
                                  "max_inflight_body_bytes", "rate_limit_per_minute", "lockout_failures",
                                  "lockout_window_s", "lockout_s", "key_lockout_failures", "key_lockout_window_s",
                                  "key_lockout_s", "retain_images", "sync_interval_s", "compaction_delay_s",
                                  "trust_store", "liveness_session_ttl_s", "liveness_session_max_frames",
                                  "gallery_snapshot_dir", "gallery_snapshot_interval_s", "gallery_keep_full_precision",
                                  "gallery_exact_budget_ms"};
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
    take_path("trust_store", c.trust_store);
    take_path("gallery_snapshot_dir", c.gallery_snapshot_dir);
    take(j, "workers", c.workers);
    take(j, "queue", c.queue);
    take(j, "max_body_bytes", c.max_body_bytes);
    take(j, "max_image_bytes", c.image_limits.max_bytes);
    take(j, "max_image_pixels", c.image_limits.max_pixels);
    take(j, "max_image_side", c.image_limits.max_side);
    take(j, "max_request_decoded_bytes", c.max_request_decoded_bytes);
    take(j, "request_timeout_s", c.request_timeout_s);
    take(j, "max_connections", c.max_connections);
    take(j, "max_connections_per_address", c.max_connections_per_address);
    take(j, "header_timeout_s", c.header_timeout_s);
    take(j, "body_min_rate_bytes_per_s", c.body_min_rate_bytes_per_s);
    take(j, "keep_alive_s", c.keep_alive_s);
    take(j, "max_inflight_body_bytes", c.max_inflight_body_bytes);
    take(j, "rate_limit_per_minute", c.rate_limit_per_minute);
    take(j, "lockout_failures", c.lockout_failures);
    take(j, "lockout_window_s", c.lockout_window_s);
    take(j, "lockout_s", c.lockout_s);
    take(j, "key_lockout_failures", c.key_lockout_failures);
    take(j, "key_lockout_window_s", c.key_lockout_window_s);
    take(j, "key_lockout_s", c.key_lockout_s);
    take(j, "retain_images", c.retain_images);
    take(j, "sync_interval_s", c.sync_interval_s);
    take(j, "compaction_delay_s", c.compaction_delay_s);
    take(j, "liveness_session_ttl_s", c.liveness_session_ttl_s);
    take(j, "liveness_session_max_frames", c.liveness_session_max_frames);
    take(j, "gallery_snapshot_interval_s", c.gallery_snapshot_interval_s);
    take(j, "gallery_keep_full_precision", c.gallery_keep_full_precision);
    take(j, "gallery_exact_budget_ms", c.gallery_exact_budget_ms);
    c.check();
    return c;
}

void ServerConfig::check() const {
    auto require = [](bool ok, const char* what) {
        if (!ok) throw Error(ErrorCode::invalid_argument, std::string("server config: ") + what);
    };
    require(max_connections >= 1 && max_connections_per_address >= 1,
            "max_connections and max_connections_per_address must be at least 1");
    require(header_timeout_s > 0 && header_timeout_s <= 3600 && keep_alive_s > 0 && keep_alive_s <= 3600,
            "header_timeout_s and keep_alive_s must be in (0, 3600]");
    require(body_min_rate_bytes_per_s >= 1, "body_min_rate_bytes_per_s must be at least 1");
    require(max_request_decoded_bytes >= 1 && max_inflight_body_bytes >= 1 && max_body_bytes >= 1,
            "byte limits must be at least 1");
    require(request_timeout_s >= 1, "request_timeout_s must be at least 1");
    require(compaction_delay_s >= 0 && sync_interval_s > 0, "compaction_delay_s >= 0 and sync_interval_s > 0");
    require(lockout_window_s >= 1 && lockout_s >= 1 && key_lockout_window_s >= 1 && key_lockout_s >= 1 &&
                lockout_window_s <= 86400 && key_lockout_window_s <= 86400,
            "lockout windows must be 1 s to a day and lockouts at least 1 s");
    require(liveness_session_ttl_s >= 1 && liveness_session_ttl_s <= 3600,
            "liveness_session_ttl_s must be 1 to 3600 seconds");
    require(liveness_session_max_frames >= 8 && liveness_session_max_frames <= 240,
            "liveness_session_max_frames must be 8 to 240");
    require(gallery_snapshot_interval_s >= 1 && gallery_exact_budget_ms >= 0,
            "gallery_snapshot_interval_s must be at least 1 and gallery_exact_budget_ms at least 0");
}

}  // namespace faceproof
