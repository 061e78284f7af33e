#include "server/request_body.hpp"

#include <sodium.h>

#include <cmath>

#include "faceproof/error.hpp"

namespace faceproof::server {
namespace {

std::vector<std::uint8_t> from_base64(const std::string& name, std::string_view text) {
    // data:image/jpeg;base64,....
    if (text.rfind("data:", 0) == 0) {
        const auto comma = text.find(',');
        if (comma == std::string_view::npos || text.substr(0, comma).find(";base64") == std::string_view::npos)
            throw Error(ErrorCode::invalid_argument, "\"" + name + "\": a data: URL must be base64");
        text.remove_prefix(comma + 1);
    }
    std::vector<std::uint8_t> out(text.size() / 4 * 3 + 3);
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), " \r\n\t", &length, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != text.data() + text.size())
        throw Error(ErrorCode::invalid_argument, "\"" + name + "\" is not valid base64");
    out.resize(length);
    return out;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// No request needs deep JSON, and nlohmann copies (and dumps) a value recursively: a body of 30,000
// nested arrays, copied by json(), overflowed the stack and took the whole service down (an input
// written for fuzz/fuzz_request_body.cpp). Refused, Error{invalid_argument}, when deeper than this.
constexpr int kMaxJsonDepth = 64;

nlohmann::json parse_json_limited(const std::string& text) {
    bool too_deep = false;
    auto result = nlohmann::json::parse(
        text,
        [&too_deep](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
            if ((event == nlohmann::json::parse_event_t::object_start ||
                 event == nlohmann::json::parse_event_t::array_start) && depth >= kMaxJsonDepth)
                too_deep = true;
            return !too_deep;
        },
        /*allow_exceptions=*/false);
    if (too_deep) throw Error(ErrorCode::invalid_argument, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return result;
}

}  // namespace

RequestBody RequestBody::parse(const httplib::Request& request) {
    RequestBody body;
    const std::string type = request.get_header_value("Content-Type");
    if (request.is_multipart_form_data()) {
        for (const auto& [name, part] : request.files) body.parts_.emplace(name, part.content);
        return body;
    }
    if (starts_with(type, "application/json")) {
        body.is_json_ = true;
        body.json_ = parse_json_limited(request.body);
        if (body.json_.is_discarded()) throw Error(ErrorCode::invalid_argument, "the request body is not valid JSON");
        if (!body.json_.is_object()) throw Error(ErrorCode::invalid_argument, "the JSON body must be an object");
        return body;
    }
    throw Error(ErrorCode::unsupported_media_type,
                "send multipart/form-data or application/json (got " + (type.empty() ? std::string("none") : type) + ")");
}

std::vector<std::vector<std::uint8_t>> RequestBody::images(const std::string& name) const {
    std::vector<std::vector<std::uint8_t>> out;
    if (!is_json_) {
        const auto [first, last] = parts_.equal_range(name);
        for (auto it = first; it != last; ++it) out.emplace_back(it->second.begin(), it->second.end());
        return out;
    }
    const auto it = json_.find(name);
    if (it == json_.end() || it->is_null()) return out;
    if (it->is_string()) {
        out.push_back(from_base64(name, it->get_ref<const std::string&>()));
    } else if (it->is_array()) {
        for (const auto& v : *it) {
            if (!v.is_string()) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must hold base64 strings");
            out.push_back(from_base64(name, v.get_ref<const std::string&>()));
        }
    } else {
        throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be a base64 string or an array of them");
    }
    return out;
}

std::vector<std::vector<std::uint8_t>> RequestBody::required_images(const std::string& name) const {
    auto out = images(name);
    if (out.empty()) throw Error(ErrorCode::invalid_argument, "missing image field \"" + name + "\"");
    return out;
}

std::optional<std::string> RequestBody::text(const std::string& name) const {
    if (!is_json_) {
        const auto it = parts_.find(name);
        if (it == parts_.end()) return std::nullopt;
        return it->second;
    }
    const auto it = json_.find(name);
    if (it == json_.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be a string");
    return it->get<std::string>();
}

std::string RequestBody::required_text(const std::string& name) const {
    auto v = text(name);
    if (!v || v->empty()) throw Error(ErrorCode::invalid_argument, "missing field \"" + name + "\"");
    return *v;
}

std::optional<double> RequestBody::number(const std::string& name) const {
    double value = 0;
    if (!is_json_) {
        const auto t = text(name);
        if (!t) return std::nullopt;
        std::size_t used = 0;
        try {
            value = std::stod(*t, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != t->size()) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be a number");
    } else {
        const auto it = json_.find(name);
        if (it == json_.end() || it->is_null()) return std::nullopt;
        if (!it->is_number()) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be a number");
        value = it->get<double>();
    }
    if (!std::isfinite(value)) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be finite");
    return value;
}

std::optional<bool> RequestBody::flag(const std::string& name) const {
    if (!is_json_) {
        const auto t = text(name);
        if (!t) return std::nullopt;
        if (*t == "true" || *t == "1") return true;
        if (*t == "false" || *t == "0") return false;
        throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be true or false");
    }
    const auto it = json_.find(name);
    if (it == json_.end() || it->is_null()) return std::nullopt;
    if (!it->is_boolean()) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be true or false");
    return it->get<bool>();
}

std::optional<nlohmann::json> RequestBody::json(const std::string& name) const {
    if (is_json_) {
        const auto it = json_.find(name);
        if (it == json_.end() || it->is_null()) return std::nullopt;
        return *it;
    }
    const auto t = text(name);
    if (!t) return std::nullopt;
    auto parsed = parse_json_limited(*t);
    if (parsed.is_discarded()) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" is not valid JSON");
    return parsed;
}

}  // namespace faceproof::server
