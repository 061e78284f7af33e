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
    if (j.contains("key_file")) c.key_file = j["key_file"].get<std::string>();
    if (j.contains("models_dir")) c.models_dir = j["models_dir"].get<std::string>();
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
