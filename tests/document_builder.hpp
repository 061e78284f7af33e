// Test-side encoders of ICAO 9303 chip files (LDS data groups), written from the specifications
// (9303 part 10, ISO/IEC 19794-5:2005, ISO/IEC 39794-5, BSI TR-03110 SecurityInfos) and never by
// calling the parsers, so that a parser bug cannot hide in a matching encoder bug. Used by the
// data-group tests and later by the passive-authentication and end-to-end tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

namespace fptest {

using Bytes = std::vector<std::uint8_t>;

// ---- DER / BER-TLV building blocks -----------------------------------------------------------

// Tag bytes (big-endian value as in the specifications: 0x5F1F, 0x7F61), minimal definite length.
Bytes tlv(std::uint32_t tag, std::span<const std::uint8_t> value);
Bytes tlv(std::uint32_t tag, std::initializer_list<Bytes> children);  // concatenated children
Bytes der_length(std::size_t length);
Bytes der_integer(std::uint64_t value);
Bytes der_oid(std::string_view dotted);
Bytes concat(std::initializer_list<Bytes> parts);
Bytes read_file(const std::string& path);

// ---- DG1 -------------------------------------------------------------------------------------

// A TD3 MRZ (passport of Utopia, holder born 1974-08-12, sex F) for document_number (9 characters),
// names ("SURNAME<<GIVEN<NAMES") and expiry (YYMMDD), its check digits computed here from Doc 9303
// part 3 (7-3-1), not by the parser under test.
std::vector<std::string> td3_mrz(const std::string& document_number, const std::string& names = "ERIKSSON<<ANNA<MARIA",
                                 const std::string& expiry = "340415");

// 61 { 5F1F MRZ } with the lines concatenated as the chip stores them.
Bytes dg1_from_mrz(const std::vector<std::string>& lines);

// ---- DG2 -------------------------------------------------------------------------------------

enum class Encoding { iso19794_5, iso39794_5 };

struct FaceImage {
    Bytes image;
    std::string format;          // "jpeg" or "jp2"
    std::uint16_t width = 0;
    std::uint16_t height = 0;
    std::uint16_t feature_points = 0;   // 19794-5 only: that many 8-byte feature points
};

// The biometric data block content alone (what goes inside 5F2E / 7F2E): a 19794-5 facial record
// with one face per image, or a 39794-5 face image data block with one representation per image.
Bytes face_record(const std::vector<FaceImage>& faces, Encoding encoding);

// 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E|7F2E block } } } with one template holding all
// faces (19794-5) or all representations (39794-5).
Bytes dg2_from_images(const std::vector<FaceImage>& faces, Encoding encoding);
Bytes dg2_from_image(std::span<const std::uint8_t> image, std::string_view format,
                     std::uint16_t width, std::uint16_t height, Encoding encoding);

// ---- DG14 ------------------------------------------------------------------------------------

Bytes security_info(std::string_view protocol_oid, const Bytes& required_data,
                    const std::optional<Bytes>& optional_data = std::nullopt);
// ChipAuthenticationPublicKeyInfo: id-PK-DH / id-PK-ECDH with the key's SubjectPublicKeyInfo.
Bytes chip_authentication_public_key_info(EVP_PKEY* key, std::optional<std::uint64_t> key_id = {});
// ChipAuthenticationInfo: id-CA-ECDH-<cipher> (cipher arc 1..4), version 1.
Bytes chip_authentication_info(int cipher_arc, std::optional<std::uint64_t> key_id = {});
// PACEInfo: id-PACE-<mapping>-<cipher> (mapping arc 1,2,3,4,6), version 2, parameter id.
Bytes pace_info(int mapping_arc, int cipher_arc, std::optional<std::uint64_t> parameter_id = {});
Bytes terminal_authentication_info();
// ActiveAuthenticationInfo (2.23.136.1.1.5): version 1 and the signature algorithm OID.
Bytes active_authentication_info(std::string_view signature_algorithm_oid);
// 6E { SET { infos in DER order } }.
Bytes dg14_with(const std::vector<Bytes>& security_infos);

// ---- DG15 ------------------------------------------------------------------------------------

// 6F { SubjectPublicKeyInfo } of the key, as i2d_PUBKEY writes it.
Bytes dg15_from_public_key(EVP_PKEY* key);

}  // namespace fptest
