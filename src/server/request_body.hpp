// The body of an API request, multipart/form-data or JSON, behind one reader: images come from
// file parts or from base64 strings (plain or data: URLs), options from text parts or JSON values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace faceproof::server {

class RequestBody {
public:
    // throws Error{unsupported_media_type} for other content types, Error{invalid_argument} for
    // JSON that does not parse or is not an object.
    static RequestBody parse(const httplib::Request& request);

    // Every image under name (repeated multipart parts, or a JSON string or array of strings), in
    // order. throws Error{invalid_argument} for bad base64 or a non-string.
    std::vector<std::vector<std::uint8_t>> images(const std::string& name) const;
    // requires at least one image (Error{invalid_argument} naming the field otherwise).
    std::vector<std::vector<std::uint8_t>> required_images(const std::string& name) const;
    std::optional<std::string> text(const std::string& name) const;
    std::string required_text(const std::string& name) const;
    std::optional<double> number(const std::string& name) const;
    std::optional<bool> flag(const std::string& name) const;
    // A JSON value: the JSON body's member, or a multipart text part parsed as JSON.
    std::optional<nlohmann::json> json(const std::string& name) const;

private:
    bool is_json_ = false;
    nlohmann::json json_;
    std::multimap<std::string, std::string> parts_;  // multipart: name -> content
};

}  // namespace faceproof::server
