#include "faceproof/error.hpp"

namespace faceproof {

std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
        case ErrorCode::invalid_argument: return "invalid_argument";
        case ErrorCode::image_unreadable: return "image_unreadable";
        case ErrorCode::image_too_large: return "image_too_large";
        case ErrorCode::no_face: return "no_face";
        case ErrorCode::unauthorized: return "unauthorized";
        case ErrorCode::forbidden: return "forbidden";
        case ErrorCode::rate_limited: return "rate_limited";
        case ErrorCode::overloaded: return "overloaded";
        case ErrorCode::unsupported_media_type: return "unsupported_media_type";
        case ErrorCode::model_missing: return "model_missing";
        case ErrorCode::model_corrupt: return "model_corrupt";
        case ErrorCode::model_fetch_failed: return "model_fetch_failed";
        case ErrorCode::template_invalid: return "template_invalid";
        case ErrorCode::template_mismatch: return "template_mismatch";
        case ErrorCode::document_malformed: return "document_malformed";
        case ErrorCode::expired: return "expired";
        case ErrorCode::calibration_invalid: return "calibration_invalid";
        case ErrorCode::key_invalid: return "key_invalid";
        case ErrorCode::store_error: return "store_error";
        case ErrorCode::not_found: return "not_found";
        case ErrorCode::conflict: return "conflict";
        case ErrorCode::face_mismatch: return "face_mismatch";
        case ErrorCode::consent_invalid: return "consent_invalid";
        case ErrorCode::io_error: return "io_error";
        case ErrorCode::internal: return "internal";
    }
    return "internal";
}

}  // namespace faceproof
