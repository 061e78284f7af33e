#include "document/data_groups.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "document/tlv.hpp"
#include "faceproof/error.hpp"

namespace faceproof {

namespace {

[[noreturn]] void malformed(std::string_view file, const std::string& message) {
    throw Error(ErrorCode::document_malformed, std::string(file) + ": " + message);
}

// The one outer template of a data group, with nothing after it: a file is one TLV.
tlv::Element outer_template(std::span<const std::uint8_t> bytes, std::uint32_t tag,
                            std::string_view file) {
    tlv::Reader reader(bytes, file);
    if (reader.at_end()) malformed(file, "empty file");
    const tlv::Element outer = reader.expect(tag, std::string(file) + " template");
    reader.expect_end(std::string(file) + " template");
    return outer;
}

// ---- DG1 -------------------------------------------------------------------------------------

bool is_mrz_character(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '<';
}

// ---- DG2: image formats ----------------------------------------------------------------------

enum class DeclaredFormat { unknown, jpeg, jp2 };

bool starts_with(std::span<const std::uint8_t> bytes, std::initializer_list<std::uint8_t> prefix) {
    return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

const char* magic_format(std::span<const std::uint8_t> image) {
    if (starts_with(image, {0xFF, 0xD8})) return "jpeg";
    if (starts_with(image, {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20})) return "jp2";
    if (starts_with(image, {0xFF, 0x4F, 0xFF, 0x51})) return "jp2";
    return nullptr;
}

// The format from the declared type, which the magic bytes must confirm: a portrait whose bytes
// contradict its record would be decoded as something the issuer did not describe.
std::string checked_format(DeclaredFormat declared, std::span<const std::uint8_t> image,
                           const std::string& where) {
    const char* magic = magic_format(image);
    if (image.empty()) malformed("DG2", where + ": empty image data");
    if (magic == nullptr) {
        char first[16];
        std::snprintf(first, sizeof first, "%02X %02X", image[0], image.size() > 1 ? image[1] : 0);
        malformed("DG2", where + ": image data starts with " + first +
                             ", neither a JPEG (FF D8) nor a JPEG 2000 signature");
    }
    const std::string found = magic;
    if (declared == DeclaredFormat::unknown) return found;
    const std::string expected = declared == DeclaredFormat::jpeg ? "jpeg" : "jp2";
    if (expected != found) {
        malformed("DG2", where + ": image declared as " +
                             (expected == "jpeg" ? "JPEG" : "JPEG 2000") + " but its bytes are " +
                             (found == "jpeg" ? "JPEG" : "JPEG 2000"));
    }
    return found;
}

// ---- DG2: ISO/IEC 19794-5 (2005) facial record ----------------------------------------------

// Big-endian fields of a fixed-layout record, each read only after checking it is there.
class RecordCursor {
public:
    explicit RecordCursor(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

    std::size_t offset() const { return offset_; }
    std::size_t left() const { return bytes_.size() - offset_; }

    std::span<const std::uint8_t> take(std::size_t count, const std::string& what) {
        if (count > left()) {
            malformed("DG2", "19794-5 " + what + ": " + std::to_string(count) +
                                 " bytes needed at offset " + std::to_string(offset_) + ", " +
                                 std::to_string(left()) + " left");
        }
        const auto part = bytes_.subspan(offset_, count);
        offset_ += count;
        return part;
    }
    std::uint32_t number(std::size_t width, const std::string& what) {
        std::uint32_t value = 0;
        for (const std::uint8_t b : take(width, what)) value = (value << 8) | b;
        return value;
    }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t offset_ = 0;
};

constexpr std::size_t kRecordHeaderSize = 14;       // "FAC\0" "010\0" length(4) faces(2)
constexpr std::size_t kFacialInformationSize = 20;  // block length(4) points(2) ... pose(6)
constexpr std::size_t kFeaturePointSize = 8;
constexpr std::size_t kImageInformationSize = 12;

void parse_iso19794_5(std::span<const std::uint8_t> block, std::vector<Portrait>& portraits) {
    RecordCursor cursor(block);
    cursor.take(4, "format identifier");  // "FAC\0", checked by the caller
    const auto version = cursor.take(4, "version");
    if (!std::equal(version.begin(), version.end(), "010")) {  // "010\0": the 2005 edition
        malformed("DG2", "19794-5 record version is not \"010\" (only the 2005 edition is read)");
    }
    const std::uint32_t record_length = cursor.number(4, "record length");
    if (record_length < kRecordHeaderSize || record_length > block.size()) {
        malformed("DG2", "19794-5 record length " + std::to_string(record_length) +
                             " outside the header size 14 and the " + std::to_string(block.size()) +
                             "-byte biometric data block");
    }
    // Some issuers pad the data block; only zero bytes are tolerated after the record.
    for (std::size_t i = record_length; i < block.size(); ++i) {
        if (block[i] != 0) {
            malformed("DG2", "19794-5 record of " + std::to_string(record_length) +
                                 " bytes followed by non-zero data in the " +
                                 std::to_string(block.size()) + "-byte biometric data block");
        }
    }
    const std::uint32_t faces = cursor.number(2, "number of facial images");
    if (faces == 0) malformed("DG2", "19794-5 record with no facial image");

    RecordCursor record(block.first(record_length));
    record.take(kRecordHeaderSize, "record header");
    for (std::uint32_t face = 0; face < faces; ++face) {
        const std::string where = "19794-5 face " + std::to_string(face + 1) + " of " +
                                  std::to_string(faces);
        const std::uint32_t block_length = record.number(4, where + " block length");
        const std::size_t available = record.left() + 4;
        if (block_length > available) {
            malformed("DG2", where + ": facial record data block length " +
                                 std::to_string(block_length) + " exceeds the " +
                                 std::to_string(available) + " bytes left in the record");
        }
        const std::uint32_t feature_points = record.number(2, where + " number of feature points");
        const std::uint64_t fixed = kFacialInformationSize +
                                    std::uint64_t{feature_points} * kFeaturePointSize +
                                    kImageInformationSize;
        if (block_length <= fixed) {
            malformed("DG2", where + ": facial record data block length " +
                                 std::to_string(block_length) + " leaves no image data after " +
                                 std::to_string(fixed) + " bytes of header and " +
                                 std::to_string(feature_points) + " feature points");
        }
        record.take(kFacialInformationSize - 6, where + " facial information");
        record.take(std::size_t{feature_points} * kFeaturePointSize, where + " feature points");
        record.take(1, where + " face image type");
        const std::uint32_t data_type = record.number(1, where + " image data type");
        const std::uint32_t width = record.number(2, where + " width");
        const std::uint32_t height = record.number(2, where + " height");
        record.take(6, where + " image information");
        const std::size_t image_size = block_length - static_cast<std::size_t>(fixed);
        const auto image = record.take(image_size, where + " image data");

        DeclaredFormat declared;
        if (data_type == 0) {
            declared = DeclaredFormat::jpeg;
        } else if (data_type == 1 || data_type == 2) {  // 2: JPEG 2000 lossless in later amendments
            declared = DeclaredFormat::jp2;
        } else {
            malformed("DG2", where + ": image data type " + std::to_string(data_type) +
                                 " is neither JPEG (0) nor JPEG 2000 (1)");
        }
        Portrait portrait;
        portrait.encoding = kEncodingIso19794_5;
        portrait.format = checked_format(declared, image, where);
        portrait.width = width;
        portrait.height = height;
        portrait.image.assign(image.begin(), image.end());
        portraits.push_back(std::move(portrait));
    }
    if (record.left() != 0) {
        malformed("DG2", "19794-5 record length " + std::to_string(record_length) + " leaves " +
                             std::to_string(record.left()) + " bytes after the last of " +
                             std::to_string(faces) + " faces");
    }
}

// ---- DG2: ISO/IEC 39794-5 face image data block ----------------------------------------------
//
// FaceImageDataBlock ::= [APPLICATION 5] SEQUENCE { versionBlock [0], representationBlocks [1]
//   SEQUENCE OF RepresentationBlock, ... }; RepresentationBlock ::= SEQUENCE { representationId [0],
//   imageRepresentation [1] CHOICE { base [0] ImageRepresentation2DBlock, ... }, ... };
// ImageRepresentation2DBlock ::= SEQUENCE { representationData2D [0] OCTET STRING,
//   imageInformation2DBlock [1] SEQUENCE { imageDataFormat [0] CHOICE { code [0] ENUMERATED, ...},
//   ..., imageSizeBlock [7] SEQUENCE { width [0], height [1] }, ... }, ... }
// Automatic tags, so context-specific tags throughout. Unknown and extension elements are skipped.

DeclaredFormat format_of_code(std::uint64_t code, const std::string& where) {
    switch (code) {
        case 0: return DeclaredFormat::unknown;  // "unknown": the magic bytes decide
        case 2: return DeclaredFormat::jpeg;
        case 3:                                  // JPEG 2000 lossy
        case 4: return DeclaredFormat::jp2;      // JPEG 2000 lossless
        default:
            malformed("DG2", where + ": image data format code " + std::to_string(code) +
                                 " is neither JPEG (2) nor JPEG 2000 (3, 4)");
    }
}

std::uint32_t size_field(const tlv::Element& element, const std::string& what) {
    const std::uint64_t value = tlv::read_unsigned(element, "DG2", what);
    if (value > 0xFFFFFFFFu) malformed("DG2", what + " " + std::to_string(value) + " too large");
    return static_cast<std::uint32_t>(value);
}

void parse_image_information(tlv::Reader info, DeclaredFormat& declared, bool& format_found,
                             Portrait& portrait, const std::string& where) {
    while (!info.at_end()) {
        const tlv::Element element = info.next();
        if (element.tag == 0xA0 || element.tag == 0x80) {
            // The CHOICE is normally wrapped ([0] { code [0] }); a bare code is accepted too.
            tlv::Element code = element;
            if (element.constructed) {
                tlv::Reader choice = info.children(element);
                if (choice.at_end()) malformed("DG2", where + ": empty image data format");
                code = choice.next();
                if (code.tag != 0x80) {
                    malformed("DG2", where + ": image data format given as an extension block "
                                             "(tag " + tlv::tag_hex(code.tag) + "), not a code");
                }
            }
            declared = format_of_code(tlv::read_unsigned(code, "DG2", where + " image data format"),
                                      where);
            format_found = true;
        } else if (element.tag == 0xA7) {
            tlv::Reader size = info.children(element);
            bool width_found = false;
            bool height_found = false;
            while (!size.at_end()) {
                const tlv::Element field = size.next();
                if (field.tag == 0x80) {
                    portrait.width = size_field(field, where + " width");
                    width_found = true;
                } else if (field.tag == 0x81) {
                    portrait.height = size_field(field, where + " height");
                    height_found = true;
                }
            }
            if (!width_found || !height_found) {
                malformed("DG2", where + ": image size block without width and height");
            }
        }
    }
}

void parse_representation_2d(tlv::Reader block, std::vector<Portrait>& portraits,
                             const std::string& where) {
    std::optional<tlv::Element> data;
    DeclaredFormat declared = DeclaredFormat::unknown;
    bool format_found = false;
    Portrait portrait;
    portrait.encoding = kEncodingIso39794_5;
    while (!block.at_end()) {
        const tlv::Element element = block.next();
        if (element.tag == 0x80) {
            if (data) malformed("DG2", where + ": two representation data elements");
            data = element;
        } else if (element.tag == 0xA1) {
            parse_image_information(block.children(element), declared, format_found, portrait,
                                    where);
        }
    }
    if (!data) malformed("DG2", where + ": 2D representation without image data (tag 80)");
    if (!format_found) malformed("DG2", where + ": 2D representation without image data format");
    portrait.format = checked_format(declared, data->value, where);
    portrait.image.assign(data->value.begin(), data->value.end());
    portraits.push_back(std::move(portrait));
}

void parse_iso39794_5(tlv::Reader block, std::vector<Portrait>& portraits) {
    // The block holds the FaceImageDataBlock's elements, or the [APPLICATION 5] SEQUENCE itself.
    {
        tlv::Reader probe = block;
        if (!probe.at_end() && probe.next().tag == 0x65) {
            const tlv::Element wrapped = block.next();
            block.expect_end("39794-5 face image data block");
            block = block.children(wrapped);
        }
    }
    std::optional<tlv::Element> representations;
    while (!block.at_end()) {
        const tlv::Element element = block.next();
        if (element.tag == 0xA1) {
            if (representations) malformed("DG2", "39794-5: two representation blocks");
            representations = element;
        }
    }
    if (!representations) malformed("DG2", "39794-5 face image data block without representations");

    tlv::Reader list = block.children(*representations);
    std::size_t index = 0;
    const std::size_t before = portraits.size();
    while (!list.at_end()) {
        const tlv::Element representation = list.next();
        ++index;
        const std::string where = "39794-5 representation " + std::to_string(index);
        tlv::Reader fields = list.children(representation);
        std::optional<tlv::Element> image_representation;
        while (!fields.at_end()) {
            const tlv::Element field = fields.next();
            if (field.tag == 0xA1) image_representation = field;
        }
        if (!image_representation) malformed("DG2", where + ": no image representation (tag A1)");
        tlv::Reader choice = fields.children(*image_representation);
        if (choice.at_end()) malformed("DG2", where + ": empty image representation");
        const tlv::Element chosen = choice.next();
        choice.expect_end(where + " image representation");
        if (chosen.tag != 0xA0) continue;  // a 3D or extension representation: not a portrait
        parse_representation_2d(choice.children(chosen), portraits, where);
    }
    if (portraits.size() == before) {
        malformed("DG2", "39794-5 face image data block without a 2D representation");
    }
}

// ---- DG14 / DG15: names ----------------------------------------------------------------------

bool has_prefix(const std::string& oid, std::string_view prefix) {
    return oid.size() > prefix.size() && oid.compare(0, prefix.size(), prefix) == 0 &&
           oid[prefix.size()] == '.';
}

std::string last_arc_after(const std::string& oid, std::string_view prefix) {
    return oid.substr(prefix.size() + 1);
}

std::string cipher_name(const std::string& arc) {
    if (arc == "1") return "3DES-CBC-CBC";
    if (arc == "2") return "AES-CBC-CMAC-128";
    if (arc == "3") return "AES-CBC-CMAC-192";
    if (arc == "4") return "AES-CBC-CMAC-256";
    return "cipher " + arc;
}

// OpenSSL's long name for well-known OIDs (ecdsa-with-SHA256, ...), else the dotted text.
std::string oid_display_name(const std::string& oid) {
    ASN1_OBJECT* object = OBJ_txt2obj(oid.c_str(), /*no_name=*/1);
    std::string name = oid;
    if (object != nullptr) {
        const int nid = OBJ_obj2nid(object);
        if (nid != NID_undef) name = OBJ_nid2ln(nid);
        ASN1_OBJECT_free(object);
    }
    return name;
}

struct ProtocolName {
    std::string name;
    enum class Kind { other, ca_public_key, ca_info, ca_domain, pace_info, pace_domain, ta, aa }
        kind = Kind::other;
};

ProtocolName protocol_name(const std::string& oid) {
    using Kind = ProtocolName::Kind;
    constexpr std::string_view bsi = "0.4.0.127.0.7.2.2";  // bsi-de protocols smartcard
    const std::string pk = std::string(bsi) + ".1";
    const std::string ta = std::string(bsi) + ".2";
    const std::string ca = std::string(bsi) + ".3";
    const std::string pace = std::string(bsi) + ".4";
    if (oid == "2.23.136.1.1.5") return {"Active Authentication info", Kind::aa};
    if (oid == pk + ".1") return {"Chip Authentication public key (DH)", Kind::ca_public_key};
    if (oid == pk + ".2") return {"Chip Authentication public key (ECDH)", Kind::ca_public_key};
    if (oid == ta || has_prefix(oid, ta)) return {"Terminal Authentication info", Kind::ta};
    if (oid == ca + ".1") return {"Chip Authentication domain parameters (DH)", Kind::ca_domain};
    if (oid == ca + ".2") return {"Chip Authentication domain parameters (ECDH)", Kind::ca_domain};
    for (const auto& [arc, agreement] : {std::pair{".1", "DH"}, std::pair{".2", "ECDH"}}) {
        const std::string family = ca + arc;
        if (has_prefix(oid, family)) {
            return {std::string("Chip Authentication info (") + agreement + ", " +
                        cipher_name(last_arc_after(oid, family)) + ")",
                    Kind::ca_info};
        }
    }
    const std::pair<const char*, const char*> mappings[] = {
        {".1", "DH-GM"}, {".2", "ECDH-GM"}, {".3", "DH-IM"}, {".4", "ECDH-IM"}, {".6", "ECDH-CAM"}};
    for (const auto& [arc, mapping] : mappings) {
        const std::string family = pace + arc;
        if (oid == family) return {std::string("PACE domain parameters (") + mapping + ")",
                                   Kind::pace_domain};
        if (has_prefix(oid, family)) {
            return {std::string("PACE info (") + mapping + ", " +
                        cipher_name(last_arc_after(oid, family)) + ")",
                    Kind::pace_info};
        }
    }
    if (oid == std::string(bsi) + ".5" || has_prefix(oid, std::string(bsi) + ".5")) {
        return {"Restricted Identification info", Kind::other};
    }
    if (oid == std::string(bsi) + ".6") return {"CardInfoLocator", Kind::other};
    if (oid == std::string(bsi) + ".7") return {"eID security info", Kind::other};
    if (oid == std::string(bsi) + ".8") return {"Privileged Terminal info", Kind::other};
    return {"unknown protocol", Kind::other};
}

std::optional<std::uint64_t> integer_if(const std::optional<tlv::Element>& element,
                                        const std::string& what) {
    if (!element || element->tag != 0x02) return std::nullopt;
    return tlv::read_unsigned(*element, "DG14", what);
}

// The algorithm OID of a SubjectPublicKeyInfo or AlgorithmIdentifier SEQUENCE, if it has one.
std::string algorithm_of(const tlv::Reader& parent, const tlv::Element& sequence) {
    if (sequence.tag != 0x30) return {};
    tlv::Reader inner = parent.children(sequence);
    if (inner.at_end()) return {};
    tlv::Element first = inner.next();
    if (first.tag == 0x30) {  // SubjectPublicKeyInfo: the AlgorithmIdentifier comes first
        tlv::Reader algorithm = inner.children(first);
        if (algorithm.at_end()) return {};
        first = algorithm.next();
    }
    if (first.tag != 0x06) return {};
    return oid_display_name(tlv::oid_text(first.value, "DG14"));
}

struct PkeyDeleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

std::string openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "no OpenSSL error";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
}

}  // namespace

// ---- public ----------------------------------------------------------------------------------

Dg1Mrz parse_dg1(std::span<const std::uint8_t> bytes) {
    const tlv::Element outer = outer_template(bytes, 0x61, "DG1");
    tlv::Reader top(bytes, "DG1");
    tlv::Reader inner = top.children(outer);
    const tlv::Element mrz = inner.expect(0x5F1F, "MRZ data element");
    inner.expect_end("DG1 template");

    const std::size_t length = mrz.value.size();
    std::size_t line_length = 0;
    if (length == 90) {
        line_length = 30;
    } else if (length == 72) {
        line_length = 36;
    } else if (length == 88) {
        line_length = 44;
    } else {
        malformed("DG1", "MRZ of " + std::to_string(length) +
                             " characters is none of TD1 (90), TD2 (72), TD3 (88)");
    }
    const std::string text(mrz.value.begin(), mrz.value.end());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (!is_mrz_character(text[i])) {
            malformed("DG1", "MRZ character " + std::to_string(i + 1) + " (byte " +
                                 std::to_string(static_cast<unsigned char>(text[i])) +
                                 ") is not one of A-Z 0-9 <");
        }
    }
    Dg1Mrz result;
    for (std::size_t start = 0; start < length; start += line_length) {
        result.lines.push_back(text.substr(start, line_length));
    }
    return result;
}

std::vector<Portrait> parse_dg2(std::span<const std::uint8_t> bytes) {
    const tlv::Element outer = outer_template(bytes, 0x75, "DG2");
    tlv::Reader top(bytes, "DG2");
    tlv::Reader inside = top.children(outer);
    const tlv::Element group = inside.expect(0x7F61, "Biometric Information Group Template");
    inside.expect_end("DG2 template");

    tlv::Reader templates = inside.children(group);
    const tlv::Element count_element = templates.expect(0x02, "number of biometric templates");
    const std::uint64_t declared_count =
        tlv::read_unsigned(count_element, "DG2", "number of biometric templates");

    std::vector<Portrait> portraits;
    std::uint64_t found = 0;
    while (!templates.at_end()) {
        const tlv::Element bit = templates.expect(0x7F60, "Biometric Information Template");
        ++found;
        if (found > declared_count) {
            malformed("DG2", "more Biometric Information Templates than the " +
                                 std::to_string(declared_count) + " declared");
        }
        tlv::Reader bit_reader = templates.children(bit);
        // 9303 writes the header template as A1; since its content is not interpreted here, any
        // context-specific constructed tag A1-AF is taken, as issuers and readers vary.
        if (bit_reader.at_end()) malformed("DG2", "empty Biometric Information Template");
        const tlv::Element header = bit_reader.next();
        if (header.tag < 0xA1 || header.tag > 0xAF) {
            malformed("DG2", "expected a Biometric Header Template (tag A1), found tag " +
                                 tlv::tag_hex(header.tag));
        }
        tlv::validate(header.value, "DG2", bit_reader.depth() + 1);  // contents vary by issuer
        if (bit_reader.at_end()) {
            malformed("DG2", "Biometric Information Template " + std::to_string(found) +
                                 " without a biometric data block");
        }
        const tlv::Element block = bit_reader.next();
        bit_reader.expect_end("Biometric Information Template " + std::to_string(found));
        if (block.tag != 0x5F2E && block.tag != 0x7F2E) {
            malformed("DG2", "expected a biometric data block (tag 5F2E or 7F2E), found tag " +
                                 tlv::tag_hex(block.tag));
        }
        if (block.value.empty()) {
            malformed("DG2", "empty biometric data block (tag " + tlv::tag_hex(block.tag) + ")");
        }
        if (starts_with(block.value, {'F', 'A', 'C', 0})) {
            parse_iso19794_5(block.value, portraits);
        } else {
            // 7F2E is constructed; a 5F2E holding 39794-5 elements is read the same way.
            parse_iso39794_5(tlv::Reader(block.value, "DG2", bit_reader.depth() + 1), portraits);
        }
    }
    if (found != declared_count) {
        malformed("DG2", std::to_string(declared_count) +
                             " biometric templates declared, " + std::to_string(found) + " present");
    }
    if (portraits.empty()) malformed("DG2", "no portrait");
    return portraits;
}

std::vector<SecurityInfoSummary> parse_dg14(std::span<const std::uint8_t> bytes) {
    const tlv::Element outer = outer_template(bytes, 0x6E, "DG14");
    tlv::validate(outer.value, "DG14", 1);
    tlv::Reader top(bytes, "DG14");
    tlv::Reader inside = top.children(outer);
    const tlv::Element set = inside.expect(0x31, "SecurityInfos SET");
    inside.expect_end("DG14 template");

    std::vector<SecurityInfoSummary> infos;
    tlv::Reader elements = inside.children(set);
    if (elements.at_end()) malformed("DG14", "empty SecurityInfos SET");
    while (!elements.at_end()) {
        const tlv::Element info = elements.expect(0x30, "SecurityInfo SEQUENCE");
        tlv::Reader fields = elements.children(info);
        const tlv::Element protocol = fields.expect(0x06, "SecurityInfo protocol OID");
        if (fields.at_end()) malformed("DG14", "SecurityInfo without its required data");
        const tlv::Element required = fields.next();
        std::optional<tlv::Element> optional;
        if (!fields.at_end()) optional = fields.next();
        fields.expect_end("SecurityInfo");

        SecurityInfoSummary summary;
        summary.protocol_oid = tlv::oid_text(protocol.value, "DG14");
        const ProtocolName name = protocol_name(summary.protocol_oid);
        summary.protocol = name.name;
        using Kind = ProtocolName::Kind;
        switch (name.kind) {
            case Kind::ca_public_key: {
                const std::string algorithm = algorithm_of(fields, required);
                if (!algorithm.empty()) summary.detail = "key algorithm " + algorithm;
                summary.key_id = integer_if(optional, "Chip Authentication key id");
                break;
            }
            case Kind::ca_info:
                summary.version = integer_if(required, "Chip Authentication version");
                summary.key_id = integer_if(optional, "Chip Authentication key id");
                break;
            case Kind::pace_info:
                summary.version = integer_if(required, "PACE version");
                if (const auto parameter = integer_if(optional, "PACE parameter id")) {
                    summary.detail = "standardized domain parameters " + std::to_string(*parameter);
                }
                break;
            case Kind::ca_domain:
            case Kind::pace_domain: {
                const std::string algorithm = algorithm_of(fields, required);
                if (!algorithm.empty()) summary.detail = "algorithm " + algorithm;
                break;
            }
            case Kind::ta:
                summary.version = integer_if(required, "Terminal Authentication version");
                break;
            case Kind::aa:
                summary.version = integer_if(required, "Active Authentication version");
                if (optional && optional->tag == 0x06) {
                    summary.detail = "signature algorithm " +
                                     oid_display_name(tlv::oid_text(optional->value, "DG14"));
                }
                break;
            case Kind::other:
                break;
        }
        infos.push_back(std::move(summary));
    }
    return infos;
}

ActiveAuthenticationKey parse_dg15(std::span<const std::uint8_t> bytes) {
    const tlv::Element outer = outer_template(bytes, 0x6F, "DG15");
    tlv::validate(outer.value, "DG15", 1);
    tlv::Reader top(bytes, "DG15");
    tlv::Reader inside = top.children(outer);
    const tlv::Element spki = inside.expect(0x30, "SubjectPublicKeyInfo SEQUENCE");
    inside.expect_end("DG15 template");

    // Whether EC parameters are a named curve (OID) or explicit (SEQUENCE), from the encoding:
    // OpenSSL may map explicit parameters onto a named group and hide the difference.
    bool explicit_parameters = false;
    {
        tlv::Reader fields = inside.children(spki);
        const tlv::Element algorithm = fields.expect(0x30, "AlgorithmIdentifier");
        tlv::Reader algorithm_fields = fields.children(algorithm);
        algorithm_fields.expect(0x06, "algorithm OID");
        if (!algorithm_fields.at_end()) explicit_parameters = algorithm_fields.next().tag == 0x30;
    }

    ERR_clear_error();
    const unsigned char* cursor = spki.encoded.data();
    const long length = static_cast<long>(spki.encoded.size());
    std::unique_ptr<EVP_PKEY, PkeyDeleter> key(d2i_PUBKEY(nullptr, &cursor, length));
    if (!key) malformed("DG15", "SubjectPublicKeyInfo not decodable: " + openssl_error());
    if (cursor != spki.encoded.data() + spki.encoded.size()) {
        malformed("DG15", "SubjectPublicKeyInfo decoding stopped before its end");
    }

    ActiveAuthenticationKey result;
    result.bits = EVP_PKEY_get_bits(key.get());
    result.subject_public_key_info.assign(spki.encoded.begin(), spki.encoded.end());
    const int type = EVP_PKEY_get_base_id(key.get());
    if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS) {
        result.algorithm = "RSA";
    } else if (type == EVP_PKEY_EC) {
        result.algorithm = "EC";
        char group[80] = {0};
        std::size_t group_length = 0;
        const bool named = EVP_PKEY_get_group_name(key.get(), group, sizeof group, &group_length) == 1 &&
                           group_length > 0;
        ERR_clear_error();
        if (explicit_parameters) {
            result.curve = "explicit parameters";
            if (named) result.curve += std::string(" (= ") + group + ")";
        } else if (named) {
            result.curve = group;
        } else {
            malformed("DG15", "EC key without a known curve");
        }
    } else {
        const char* name = OBJ_nid2sn(type);
        ERR_clear_error();
        malformed("DG15", "Active Authentication key of algorithm " +
                              std::string(name != nullptr ? name : "unknown") +
                              ", neither RSA nor EC");
    }
    return result;
}

}  // namespace faceproof
