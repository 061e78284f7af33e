#include "document/tlv.hpp"

#include <cstdio>

#include "faceproof/error.hpp"

namespace faceproof::tlv {

namespace {

[[noreturn]] void malformed(std::string_view context, const std::string& message) {
    throw Error(ErrorCode::document_malformed, std::string(context) + ": " + message);
}

}  // namespace

std::string tag_hex(std::uint32_t tag) {
    char text[16];
    if (tag > 0xFFFF) {
        std::snprintf(text, sizeof text, "%06X", static_cast<unsigned>(tag));
    } else if (tag > 0xFF) {
        std::snprintf(text, sizeof text, "%04X", static_cast<unsigned>(tag));
    } else {
        std::snprintf(text, sizeof text, "%02X", static_cast<unsigned>(tag));
    }
    return text;
}

Reader::Reader(std::span<const std::uint8_t> bytes, std::string_view context, int depth)
    : bytes_(bytes), context_(context), depth_(depth) {
    if (depth < 0 || depth > kMaxDepth) {
        malformed(context_, "nesting depth " + std::to_string(depth) + " exceeds " +
                                std::to_string(kMaxDepth));
    }
}

Element Reader::next() {
    const std::size_t start = offset_;
    const std::size_t size = bytes_.size();
    if (offset_ >= size) malformed(context_, "expected a tag, found the end of the data");

    const std::uint8_t first = bytes_[offset_++];
    std::uint32_t tag = first;
    if ((first & 0x1F) == 0x1F) {
        // Multi-byte tag: continuation bytes carry bit 0x80 except the last; at most 3 bytes in all.
        int tag_bytes = 1;
        for (;;) {
            if (offset_ >= size) {
                malformed(context_, "tag " + tag_hex(tag) + "… truncated at offset " +
                                        std::to_string(offset_));
            }
            const std::uint8_t b = bytes_[offset_++];
            if (tag_bytes == 1 && b == 0x80) {
                malformed(context_, "tag " + tag_hex(tag) + "80 has a leading zero subsequent byte");
            }
            tag = (tag << 8) | b;
            ++tag_bytes;
            if ((b & 0x80) == 0) break;
            if (tag_bytes == 3) {
                malformed(context_, "tag " + tag_hex(tag) + "… at offset " + std::to_string(start) +
                                        " is longer than 3 bytes");
            }
        }
    }

    if (offset_ >= size) {
        malformed(context_, "tag " + tag_hex(tag) + " at offset " + std::to_string(start) +
                                " has no length");
    }
    const std::uint8_t length_byte = bytes_[offset_++];
    std::uint64_t length = 0;
    if (length_byte < 0x80) {
        length = length_byte;
    } else if (length_byte == 0x80) {
        malformed(context_, "tag " + tag_hex(tag) + " at offset " + std::to_string(start) +
                                " has an indefinite length (the LDS uses definite lengths)");
    } else {
        const std::size_t count = length_byte & 0x7F;
        if (count > 4) {
            malformed(context_, "tag " + tag_hex(tag) + " at offset " + std::to_string(start) +
                                    " has " + std::to_string(count) +
                                    " length bytes (at most 4 allowed)");
        }
        if (count > size - offset_) {
            malformed(context_, "tag " + tag_hex(tag) + " at offset " + std::to_string(start) +
                                    ": length truncated (" + std::to_string(count) +
                                    " length bytes, " + std::to_string(size - offset_) + " left)");
        }
        for (std::size_t i = 0; i < count; ++i) length = (length << 8) | bytes_[offset_++];
    }
    if (length > size - offset_) {
        malformed(context_, "tag " + tag_hex(tag) + " at offset " + std::to_string(start) +
                                ": length " + std::to_string(length) + " exceeds the " +
                                std::to_string(size - offset_) + " bytes left");
    }

    Element element;
    element.tag = tag;
    element.constructed = (first & 0x20) != 0;
    element.value = bytes_.subspan(offset_, static_cast<std::size_t>(length));
    offset_ += static_cast<std::size_t>(length);
    element.encoded = bytes_.subspan(start, offset_ - start);
    element.depth = depth_;
    return element;
}

Element Reader::expect(std::uint32_t tag, std::string_view what) {
    if (at_end()) {
        malformed(context_, "expected " + std::string(what) + " (tag " + tag_hex(tag) +
                                "), found the end of the data");
    }
    Element element = next();
    if (element.tag != tag) {
        malformed(context_, "expected " + std::string(what) + " (tag " + tag_hex(tag) +
                                "), found tag " + tag_hex(element.tag));
    }
    return element;
}

std::optional<Element> Reader::find(std::uint32_t tag) {
    while (!at_end()) {
        Element element = next();
        if (element.tag == tag) return element;
    }
    return std::nullopt;
}

Reader Reader::children(const Element& element) const {
    if (!element.constructed) {
        malformed(context_, "tag " + tag_hex(element.tag) + " is primitive where a constructed "
                                                            "value was expected");
    }
    if (element.depth + 1 > kMaxDepth) {
        malformed(context_, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return Reader(element.value, context_, element.depth + 1);
}

void Reader::expect_end(std::string_view what) const {
    if (!at_end()) {
        malformed(context_, std::string(what) + ": " + std::to_string(remaining()) +
                                " unexpected bytes after the last element");
    }
}

void validate(std::span<const std::uint8_t> bytes, std::string_view context, int depth) {
    Reader reader(bytes, context, depth);
    while (!reader.at_end()) {
        const Element element = reader.next();
        if (element.constructed) {
            const Reader inner = reader.children(element);  // throws beyond kMaxDepth
            validate(element.value, context, inner.depth());
        }
    }
}

std::uint64_t read_unsigned(const Element& element, std::string_view context, std::string_view what) {
    const auto value = element.value;
    if (value.empty()) malformed(context, std::string(what) + ": empty INTEGER");
    if (value[0] & 0x80) malformed(context, std::string(what) + ": negative INTEGER");
    std::size_t i = 0;
    while (i + 1 < value.size() && value[i] == 0) ++i;
    if (value.size() - i > 8) {
        malformed(context, std::string(what) + ": INTEGER of " + std::to_string(value.size()) +
                               " bytes is wider than 64 bits");
    }
    std::uint64_t result = 0;
    for (; i < value.size(); ++i) result = (result << 8) | value[i];
    return result;
}

std::string oid_text(std::span<const std::uint8_t> content, std::string_view context) {
    if (content.empty()) malformed(context, "empty OBJECT IDENTIFIER");
    std::string text;
    std::uint64_t arc = 0;
    int arc_bytes = 0;
    bool first = true;
    for (std::size_t i = 0; i < content.size(); ++i) {
        if (arc_bytes == 9) malformed(context, "OBJECT IDENTIFIER arc wider than 63 bits");
        arc = (arc << 7) | (content[i] & 0x7F);
        ++arc_bytes;
        if (content[i] & 0x80) continue;
        if (first) {
            const std::uint64_t top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            text = std::to_string(top) + "." + std::to_string(arc - top * 40);
            first = false;
        } else {
            text += "." + std::to_string(arc);
        }
        arc = 0;
        arc_bytes = 0;
    }
    if (arc_bytes != 0) malformed(context, "OBJECT IDENTIFIER truncated in its last arc");
    return text;
}

}  // namespace faceproof::tlv
