#include "server/request_images.hpp"

namespace faceproof::server {

std::vector<PendingImage> field_images(const RequestBody& body, const std::string& field, std::size_t min,
                                       std::size_t max) {
    const std::size_t n = body.image_count(field);
    if (n == 0 && min > 0) throw Error(ErrorCode::invalid_argument, "missing image field \"" + field + "\"");
    if (n < min || n > max)
        throw Error(ErrorCode::invalid_argument,
                    min == max ? "send exactly " + std::to_string(min) + " \"" + field + "\" image" + (min > 1 ? "s" : "")
                               : "send " + std::to_string(min) + " to " + std::to_string(max) + " \"" + field +
                                     "\" images (got " + std::to_string(n) + ")");
    std::vector<PendingImage> out;
    const auto images = body.images(field);
    for (std::size_t i = 0; i < images.size(); ++i)
        out.push_back({field + (images.size() > 1 ? " " + std::to_string(i + 1) : ""), images[i]});
    return out;
}

void check_decoding_budget(const std::vector<PendingImage>& images, const ImageLimits& limits, std::size_t budget) {
    std::size_t total = 0;
    for (const auto& image : images) {
        const ImageInfo info = naming(image.label, [&] { return probe_image_within(image.bytes, limits); });
        total += static_cast<std::size_t>(info.width) * static_cast<std::size_t>(info.height) * 3;
    }
    if (total > budget)
        throw Error(ErrorCode::image_too_large,
                    "the request's images decode to " + std::to_string(total >> 20) + " MiB together; the limit is " +
                        std::to_string(budget >> 20) + " MiB per request");
}

cv::Mat decode(const PendingImage& image, const ImageLimits& limits) {
    return naming(image.label, [&] { return decode_image(image.bytes, limits); });
}

}  // namespace faceproof::server
