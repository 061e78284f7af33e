// faceproof — the one error type of the library.
//
// Every failure inside the library is thrown as faceproof::Error with a stable code.
// Boundaries translate the code exactly once: the CLI into an exit code (src/cli/exit_codes.cpp),
// the HTTP service into a status and a JSON error object.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace faceproof {

enum class ErrorCode {
    invalid_argument,    // the caller asked for something impossible (bad option, bad value)
    image_unreadable,    // not an image, unsupported format, truncated or corrupt data, empty input
    image_too_large,     // byte or pixel limits exceeded (checked from the header, before decoding)
    no_face,             // decoding worked but no face was found
    model_missing,       // a model file is not in the model directory
    model_corrupt,       // a model file is there but its SHA-256 is not the pinned one
    model_fetch_failed,  // `models fetch` could not obtain or check the package
    template_invalid,    // a serialized template is malformed, truncated or fails its checksum
    template_mismatch,   // two templates come from different models or dimensions
    document_malformed,  // document data (MRZ text, chip files, trust-store files) that do not parse
    calibration_invalid, // the calibration file is missing, malformed or lacks an operating point
    key_invalid,         // the data key is missing, malformed, or not the key the data was sealed with
    store_error,         // the database failed (connection, constraint, migration)
    not_found,           // the subject, template or key asked for does not exist
    conflict,            // it exists already (e.g. a subject reference enrolled twice), or was used already
    expired,             // it existed but its time is over (a liveness session captured too late)
    face_mismatch,       // a face added to a subject is not that subject's face
    consent_invalid,     // enrolment without a valid, unexpired consent record
    io_error,            // a file could not be read or written
    unauthorized,        // no API key, or an unknown or revoked one
    forbidden,           // the API key's role does not allow this
    rate_limited,        // too many requests for this API key, or a subject locked out; retry later
    overloaded,          // every worker busy and the queue full; retry later
    unsupported_media_type,  // a request body of a content type the route does not take
    internal,            // a bug or an unexpected failure of a dependency
};

// Stable snake_case name of the code, used in JSON ("error.code") and logs.
std::string_view to_string(ErrorCode code) noexcept;

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
    ErrorCode code() const noexcept { return code_; }

private:
    ErrorCode code_;
};

}  // namespace faceproof
