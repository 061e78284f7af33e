// The body of an API request, multipart/form-data or JSON, behind one reader: images come from
// file parts or from base64 strings (plain or data: URLs), options from text parts or JSON values.
// Nothing here decodes an image: counting and probing come first (the service's budget), decoding
// happens later inside a worker's slot.
//
// Content types: multipart/form-data, or application/json with no charset or charset=utf-8
// (media types are compared exactly: application/jsonp, text/json or charset=utf-16 are 415).
//
// Lifetime: a RequestBody refers to the httplib::Request it was parsed from (multipart parts are
// not copied); it must not outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
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

    // How many images are under name, without decoding anything (base64 included).
    // throws Error{invalid_argument} when the JSON value is not a string or an array of strings.
    std::size_t image_count(const std::string& name) const;
    // Every image's encoded bytes under name (repeated multipart parts, or a JSON string or array of
    // strings), in order; valid while this RequestBody lives. throws Error{invalid_argument} for bad
    // base64 or a non-string.
    std::vector<std::span<const std::uint8_t>> images(const std::string& name) const;
    std::optional<std::string> text(const std::string& name) const;
    std::string required_text(const std::string& name) const;
    std::optional<double> number(const std::string& name) const;
    std::optional<bool> flag(const std::string& name) const;
    // A JSON value: the JSON body's member, or a multipart text part parsed as JSON.
    std::optional<nlohmann::json> json(const std::string& name) const;
    bool is_json() const { return is_json_; }

private:
    const httplib::Request* request_ = nullptr;
    bool is_json_ = false;
    nlohmann::json json_;
    mutable std::map<std::string, std::vector<std::vector<std::uint8_t>>> decoded_;  // base64 images, by name
};

}  // namespace faceproof::server
