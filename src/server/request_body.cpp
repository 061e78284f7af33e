#include "server/request_body.hpp"

#include <sodium.h>

#include <cctype>
#include <cmath>
#include <string_view>

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

std::string lower_trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// "type/subtype; name=value; ..." -> the media type and whether every parameter is acceptable JSON
// (only charset=utf-8, the one encoding JSON may use: RFC 8259).
bool is_json_media_type(const std::string& header) {
    const auto semicolon = header.find(';');
    if (lower_trimmed(std::string_view(header).substr(0, semicolon)) != "application/json") return false;
    for (auto start = semicolon; start != std::string::npos;) {
        const auto next = header.find(';', start + 1);
        const std::string parameter = lower_trimmed(std::string_view(header).substr(start + 1, next - start - 1));
        if (!parameter.empty() && parameter != "charset=utf-8" && parameter != "charset=\"utf-8\"") return false;
        start = next;
    }
    return true;
}

std::span<const std::uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

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
    body.request_ = &request;
    const std::string type = request.get_header_value("Content-Type");
    if (request.is_multipart_form_data()) return body;
    if (is_json_media_type(type)) {
        body.is_json_ = true;
        body.json_ = parse_json_limited(request.body);
        if (body.json_.is_discarded()) throw Error(ErrorCode::invalid_argument, "the request body is not valid JSON");
        if (!body.json_.is_object()) throw Error(ErrorCode::invalid_argument, "the JSON body must be an object");
        return body;
    }
    throw Error(ErrorCode::unsupported_media_type,
                "send multipart/form-data or application/json (UTF-8) (got " +
                    (type.empty() ? std::string("none") : type.substr(0, 100)) + ")");
}

std::size_t RequestBody::image_count(const std::string& name) const {
    if (!is_json_) return request_->files.count(name);
    const auto it = json_.find(name);
    if (it == json_.end() || it->is_null()) return 0;
    if (it->is_string()) return 1;
    if (it->is_array()) return it->size();
    throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be a base64 string or an array of them");
}

std::vector<std::span<const std::uint8_t>> RequestBody::images(const std::string& name) const {
    std::vector<std::span<const std::uint8_t>> out;
    if (!is_json_) {
        const auto [first, last] = request_->files.equal_range(name);
        for (auto it = first; it != last; ++it) out.push_back(as_bytes(it->second.content));
        return out;
    }
    if (image_count(name) == 0) return out;
    auto cached = decoded_.find(name);
    if (cached == decoded_.end()) {
        std::vector<std::vector<std::uint8_t>> images;
        const auto& value = json_.at(name);
        if (value.is_string()) {
            images.push_back(from_base64(name, value.get_ref<const std::string&>()));
        } else {
            for (const auto& v : value) {
                if (!v.is_string()) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must hold base64 strings");
                images.push_back(from_base64(name, v.get_ref<const std::string&>()));
            }
        }
        cached = decoded_.emplace(name, std::move(images)).first;
    }
    for (const auto& image : cached->second) out.emplace_back(image.data(), image.size());
    return out;
}

std::optional<std::string> RequestBody::text(const std::string& name) const {
    if (!is_json_) {
        const auto it = request_->files.find(name);
        if (it == request_->files.end()) return std::nullopt;
        return it->second.content;
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
