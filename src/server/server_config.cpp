#include <nlohmann/json.hpp>

#include "faceproof/error.hpp"
#include "faceproof/server.hpp"
#include "util/text_file.hpp"

namespace faceproof {
namespace {

template <class T>
void take(const nlohmann::json& j, const char* name, T& out) {
    if (!j.contains(name)) return;
    try {
        out = j.at(name).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(ErrorCode::invalid_argument, std::string("server config: \"") + name + "\" has the wrong type");
    }
}

}  // namespace

ServerConfig ServerConfig::from_file(const std::filesystem::path& file) {
    const auto j = nlohmann::json::parse(read_text_file(file, "server config", input_limit::server_config), nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw Error(ErrorCode::invalid_argument, file.string() + ": not a JSON object");
    static const char* kKeys[] = {"host", "port", "db", "key_file", "models_dir", "workers", "queue", "max_body_bytes",
                                  "max_image_bytes", "max_image_pixels", "max_image_side", "max_request_decoded_bytes",
                                  "request_timeout_s", "max_connections", "max_connections_per_address",
                                  "header_timeout_s", "body_min_rate_bytes_per_s", "keep_alive_s",
                                  "max_inflight_body_bytes", "rate_limit_per_minute", "lockout_failures",
                                  "lockout_window_s", "lockout_s", "key_lockout_failures", "key_lockout_window_s",
                                  "key_lockout_s", "retain_images", "sync_interval_s", "compaction_delay_s"};
    for (const auto& [key, _] : j.items())
        if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
            throw Error(ErrorCode::invalid_argument, file.string() + ": unknown setting \"" + key + "\"");
    ServerConfig c;
    take(j, "host", c.host);
    take(j, "port", c.port);
    take(j, "db", c.db);
    if (j.contains("key_file")) c.key_file = j["key_file"].get<std::string>();
    if (j.contains("models_dir")) c.models_dir = j["models_dir"].get<std::string>();
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
    return c;
}

}  // namespace faceproof
