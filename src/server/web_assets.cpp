#include "server/web_assets.hpp"

#include "web_assets_data.hpp"

namespace faceproof::server {

std::span<const WebAsset> web_assets() { return detail::kWebAssets; }
std::string_view openapi_json() { return detail::kOpenApiJson; }

}  // namespace faceproof::server
