#include "document_builder.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <openssl/x509.h>

namespace fptest {

namespace {

void append(Bytes& out, std::span<const std::uint8_t> part) { out.insert(out.end(), part.begin(), part.end()); }

void put(Bytes& out, std::uint64_t value, int width) {
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(value >> shift));
    }
}

// Content octets of a non-negative DER INTEGER (minimal, with a 00 before a set top bit).
Bytes integer_content(std::uint64_t value) {
    Bytes content;
    for (int shift = 56; shift >= 0; shift -= 8) {
        const auto byte = static_cast<std::uint8_t>(value >> shift);
        if (content.empty() && byte == 0 && shift != 0) continue;
        if (content.empty() && (byte & 0x80)) content.push_back(0);
        content.push_back(byte);
    }
    return content;
}

Bytes pkey_der(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key, &der);
    if (length <= 0) throw std::runtime_error("i2d_PUBKEY failed");
    Bytes out(der, der + length);
    OPENSSL_free(der);
    return out;
}

// ISO/IEC 19794-5:2005 facial record: general header, then per face the facial information,
// feature points, image information and image data (all big-endian).
Bytes iso19794_5_record(const std::vector<FaceImage>& faces) {
    Bytes body;
    for (const FaceImage& face : faces) {
        const std::size_t block_length = 20 + 8 * std::size_t{face.feature_points} + 12 + face.image.size();
        put(body, block_length, 4);
        put(body, face.feature_points, 2);
        body.push_back(0);         // gender: unspecified
        body.push_back(0);         // eye colour: unspecified
        body.push_back(0);         // hair colour: unspecified
        put(body, 0x000001, 3);    // property mask: features are specified
        put(body, 0x0001, 2);      // expression: neutral
        put(body, 0, 3);           // pose angles yaw, pitch, roll: unspecified
        put(body, 0, 3);           // their uncertainties
        for (std::uint16_t i = 0; i < face.feature_points; ++i) {
            body.push_back(0x01);                      // feature type: 2D
            body.push_back(static_cast<std::uint8_t>(0x31 + (i % 8)));  // MPEG-4 point 3.1 ...
            put(body, 100 + i, 2);                     // x
            put(body, 120 + i, 2);                     // y
            put(body, 0, 2);                           // reserved
        }
        body.push_back(0x01);                          // face image type: full frontal
        body.push_back(face.format == "jpeg" ? 0x00 : 0x01);  // image data type
        put(body, face.width, 2);
        put(body, face.height, 2);
        body.push_back(0x01);                          // colour space: 24-bit RGB
        body.push_back(0x02);                          // source type: digital still camera
        put(body, 0, 2);                               // device type: unspecified
        put(body, 0, 2);                               // quality: unspecified
        append(body, face.image);
    }
    Bytes record = {'F', 'A', 'C', 0, '0', '1', '0', 0};
    put(record, 14 + body.size(), 4);
    put(record, faces.size(), 2);
    append(record, body);
    return record;
}

// ISO/IEC 39794-5 FaceImageDataBlock elements (automatic, context-specific tags).
Bytes iso39794_5_block(const std::vector<FaceImage>& faces) {
    Bytes representations;
    std::uint64_t id = 0;
    for (const FaceImage& face : faces) {
        const std::uint64_t format_code = face.format == "jpeg" ? 2 : 3;  // jpeg / jpeg2000Lossy
        const Bytes information = tlv(0xA1, {
            tlv(0xA0, {tlv(0x80, integer_content(format_code))}),    // imageDataFormat: code
            tlv(0xA1, {tlv(0x80, integer_content(0))}),              // faceImageKind2D: mrtd
            tlv(0xA7, {tlv(0x80, integer_content(face.width)),       // imageSizeBlock
                       tlv(0x81, integer_content(face.height))}),
        });
        const Bytes representation_2d = tlv(0xA0, {tlv(0x80, face.image), information});
        append(representations, tlv(0x30, {
            tlv(0x80, integer_content(id++)),                        // representationId
            tlv(0xA1, {representation_2d}),                          // imageRepresentation: base
        }));
    }
    return concat({
        tlv(0xA0, {tlv(0x80, integer_content(3)), tlv(0x81, integer_content(2019))}),  // version
        tlv(0xA1, representations),                                  // representationBlocks
    });
}

}  // namespace

Bytes der_length(std::size_t length) {
    Bytes out;
    if (length < 0x80) {
        out.push_back(static_cast<std::uint8_t>(length));
        return out;
    }
    int count = 0;
    for (std::size_t rest = length; rest != 0; rest >>= 8) ++count;
    out.push_back(static_cast<std::uint8_t>(0x80 | count));
    put(out, length, count);
    return out;
}

Bytes tlv(std::uint32_t tag, std::span<const std::uint8_t> value) {
    Bytes out;
    if (tag > 0xFFFF) put(out, tag, 3);
    else if (tag > 0xFF) put(out, tag, 2);
    else out.push_back(static_cast<std::uint8_t>(tag));
    append(out, der_length(value.size()));
    append(out, value);
    return out;
}

Bytes tlv(std::uint32_t tag, std::initializer_list<Bytes> children) { return tlv(tag, concat(children)); }

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& part : parts) append(out, part);
    return out;
}

Bytes der_integer(std::uint64_t value) { return tlv(0x02, integer_content(value)); }

Bytes der_oid(std::string_view dotted) {
    std::vector<std::uint64_t> arcs;
    std::uint64_t arc = 0;
    for (const char c : dotted) {
        if (c == '.') {
            arcs.push_back(arc);
            arc = 0;
        } else {
            arc = arc * 10 + static_cast<std::uint64_t>(c - '0');
        }
    }
    arcs.push_back(arc);
    Bytes content;
    auto base128 = [&content](std::uint64_t v) {
        Bytes groups;
        do {
            groups.push_back(static_cast<std::uint8_t>(v & 0x7F));
            v >>= 7;
        } while (v != 0);
        for (std::size_t i = groups.size(); i-- > 0;) {
            content.push_back(static_cast<std::uint8_t>(groups[i] | (i != 0 ? 0x80 : 0)));
        }
    };
    base128(arcs.at(0) * 40 + arcs.at(1));
    for (std::size_t i = 2; i < arcs.size(); ++i) base128(arcs[i]);
    return tlv(0x06, content);
}

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> td3_mrz(const std::string& document_number, const std::string& names,
                                 const std::string& expiry) {
    const auto check_digit = [](const std::string& field) {
        static const int weights[] = {7, 3, 1};
        int sum = 0;
        for (std::size_t i = 0; i < field.size(); ++i) {
            const char c = field[i];
            sum += (c == '<' ? 0 : (c >= 'A' && c <= 'Z') ? c - 'A' + 10 : c - '0') * weights[i % 3];
        }
        return static_cast<char>('0' + sum % 10);
    };
    const std::string birth = "740812", personal = "ZE184226B<<<<<";
    const std::string head = document_number + check_digit(document_number) + "UTO" + birth + check_digit(birth) + "F" +
                             expiry + check_digit(expiry) + personal + check_digit(personal);
    const std::string composite = head.substr(0, 10) + head.substr(13, 7) + head.substr(21, 22);
    std::string line1 = "P<UTO" + names;
    line1.resize(44, '<');
    return {line1, head + check_digit(composite)};
}

Bytes dg1_from_mrz(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line;
    const Bytes mrz(text.begin(), text.end());
    return tlv(0x61, {tlv(0x5F1F, mrz)});
}

Bytes face_record(const std::vector<FaceImage>& faces, Encoding encoding) {
    return encoding == Encoding::iso19794_5 ? iso19794_5_record(faces) : iso39794_5_block(faces);
}

Bytes dg2_from_images(const std::vector<FaceImage>& faces, Encoding encoding) {
    const bool old = encoding == Encoding::iso19794_5;
    const Bytes header = tlv(0xA1, {
        tlv(0x80, Bytes{0x01, 0x01}),                  // ICAO header version 1.1
        tlv(0x81, Bytes{0x02}),                        // biometric type: facial features
        tlv(0x87, Bytes{0x01, 0x01}),                  // format owner: ISO/IEC JTC 1/SC 37
        tlv(0x88, old ? Bytes{0x00, 0x08} : Bytes{0x00, 0x40}),  // format type (not interpreted)
    });
    const Bytes block = tlv(old ? 0x5F2E : 0x7F2E, face_record(faces, encoding));
    return tlv(0x75, {tlv(0x7F61, {der_integer(1), tlv(0x7F60, {header, block})})});
}

Bytes dg2_from_image(std::span<const std::uint8_t> image, std::string_view format,
                     std::uint16_t width, std::uint16_t height, Encoding encoding) {
    FaceImage face;
    face.image.assign(image.begin(), image.end());
    face.format = std::string(format);
    face.width = width;
    face.height = height;
    return dg2_from_images({face}, encoding);
}

Bytes security_info(std::string_view protocol_oid, const Bytes& required_data,
                    const std::optional<Bytes>& optional_data) {
    Bytes content = concat({der_oid(protocol_oid), required_data});
    if (optional_data) append(content, *optional_data);
    return tlv(0x30, content);
}

Bytes chip_authentication_public_key_info(EVP_PKEY* key, std::optional<std::uint64_t> key_id) {
    const bool ec = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC;
    const std::string oid = ec ? "0.4.0.127.0.7.2.2.1.2" : "0.4.0.127.0.7.2.2.1.1";
    std::optional<Bytes> optional;
    if (key_id) optional = der_integer(*key_id);
    return security_info(oid, pkey_der(key), optional);
}

Bytes chip_authentication_info(int cipher_arc, std::optional<std::uint64_t> key_id) {
    std::optional<Bytes> optional;
    if (key_id) optional = der_integer(*key_id);
    return security_info("0.4.0.127.0.7.2.2.3.2." + std::to_string(cipher_arc), der_integer(1),
                         optional);
}

Bytes pace_info(int mapping_arc, int cipher_arc, std::optional<std::uint64_t> parameter_id) {
    std::optional<Bytes> optional;
    if (parameter_id) optional = der_integer(*parameter_id);
    return security_info("0.4.0.127.0.7.2.2.4." + std::to_string(mapping_arc) + "." +
                             std::to_string(cipher_arc),
                         der_integer(2), optional);
}

Bytes terminal_authentication_info() { return security_info("0.4.0.127.0.7.2.2.2", der_integer(1)); }

Bytes active_authentication_info(std::string_view signature_algorithm_oid) {
    return security_info("2.23.136.1.1.5", der_integer(1), der_oid(signature_algorithm_oid));
}

Bytes dg14_with(const std::vector<Bytes>& security_infos) {
    std::vector<Bytes> sorted = security_infos;  // DER: SET OF elements in ascending encoding order
    std::sort(sorted.begin(), sorted.end());
    Bytes set_content;
    for (const Bytes& info : sorted) append(set_content, info);
    return tlv(0x6E, {tlv(0x31, set_content)});
}

Bytes dg15_from_public_key(EVP_PKEY* key) { return tlv(0x6F, pkey_der(key)); }

}  // namespace fptest
