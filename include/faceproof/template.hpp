// faceproof — templates and their comparison.
//
// Template binary format (version 1, little-endian):
//   "FPTM" | u16 version=1 | u16 id_length | model id (UTF-8) | 32-byte SHA-256 of the model file |
//   u32 dimension | dimension x f32 | 8-byte checksum = first 8 bytes of SHA-256(all bytes before)
// parse_template rejects anything else with Error{template_invalid}.
//
// Thread safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace faceproof {

struct Template {
    std::string model_id;             // names the model and the preprocessing that made the vector
    std::string model_sha256;         // hex SHA-256 of the embedding model file
    std::vector<float> values;        // L2-normalised
};

std::vector<std::uint8_t> serialize_template(const Template& t);
Template parse_template(std::span<const std::uint8_t> bytes);

// Cosine similarity in [-1, 1].
// requires: nothing (templates may come from files of unknown origin).
// throws:   template_mismatch when the model ids, the model files' SHA-256 or the dimensions differ:
//           vectors of two model files are not comparable even under one model id.
double similarity(const Template& a, const Template& b);

}  // namespace faceproof
