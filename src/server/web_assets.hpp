// Files of the web capture page (web/) and the OpenAPI document (api/openapi.json), compiled into
// the binary so `faceproof serve` needs nothing beside it. Text files only.
#pragma once

#include <span>
#include <string_view>

namespace faceproof::server {

struct WebAsset {
    std::string_view path;  // relative to web/, e.g. "index.html"
    std::string_view content;
};

std::span<const WebAsset> web_assets();
std::string_view openapi_json();

}  // namespace faceproof::server
