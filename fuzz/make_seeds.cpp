// Writes the seed corpora of the fuzz targets into OUT_DIR/<target>/, made at run time so that no
// binary data is committed: images encoded here (JPEG baseline, progressive, greyscale and with
// EXIF orientation; PNG; WebP lossy and lossless; BMP) and the face-api test photos re-encoded
// small, a template, HTTP requests like those of tests/test_server.cpp, consent and config JSON.
//   fuzz_make_seeds OUT_DIR [FACE_API_DIR]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sodium.h>

#include "document_builder.hpp"
#include "document_pki.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/gallery_index.hpp"
#include "faceproof/image.hpp"
#include "faceproof/template.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

fs::path out_dir;

void write_seed(const std::string& target, const std::string& name, const std::string& content) {
    fs::create_directories(out_dir / target);
    std::ofstream out(out_dir / target / name, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + (out_dir / target / name).string());
}

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

Bytes encode(const std::string& extension, const cv::Mat& image, const std::vector<int>& params = {}) {
    Bytes out;
    if (!cv::imencode(extension, image, out, params)) throw std::runtime_error("cannot encode " + extension);
    return out;
}

// A small picture with edges and colour, so that every codec has some real work to do.
cv::Mat synthetic_image(int width, int height) {
    cv::Mat image(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x)
            image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>(x * 4), static_cast<std::uint8_t>(y * 5),
                                                  static_cast<std::uint8_t>((x + y) * 2));
    cv::circle(image, {width / 2, height / 2}, std::min(width, height) / 3, {30, 200, 240}, -1);
    return image;
}

// JPEG with an APP1 Exif segment after SOI holding only the Orientation tag (as tests/test_image.cpp).
Bytes jpeg_with_orientation(const cv::Mat& image, int orientation, bool little_endian) {
    Bytes jpeg = encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 90});
    const auto o = static_cast<std::uint8_t>(orientation);
    const Bytes tiff = little_endian
                           ? Bytes{'I', 'I', 0x2A, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, o, 0, 0, 0, 0, 0, 0, 0}
                           : Bytes{'M', 'M', 0, 0x2A, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0};
    const std::size_t length = 2 + 6 + tiff.size();
    Bytes app1 = {0xFF, 0xE1, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length & 0xFF),
                  'E', 'x', 'i', 'f', 0, 0};
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
    return jpeg;
}

void image_seeds(const fs::path& face_api_dir) {
    const cv::Mat image = synthetic_image(48, 32);
    cv::Mat grey, bgra;
    cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
    cv::cvtColor(image, bgra, cv::COLOR_BGR2BGRA);
    write_seed("fuzz_image", "baseline.jpg", as_string(encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 90})));
    write_seed("fuzz_image", "progressive.jpg",
               as_string(encode(".jpg", image, {cv::IMWRITE_JPEG_PROGRESSIVE, 1, cv::IMWRITE_JPEG_QUALITY, 80})));
    write_seed("fuzz_image", "grey.jpg", as_string(encode(".jpg", grey)));
    write_seed("fuzz_image", "exif6-le.jpg", as_string(jpeg_with_orientation(image, 6, true)));
    write_seed("fuzz_image", "exif3-be.jpg", as_string(jpeg_with_orientation(image, 3, false)));
    write_seed("fuzz_image", "colour.png", as_string(encode(".png", image)));
    write_seed("fuzz_image", "grey.png", as_string(encode(".png", grey)));
    write_seed("fuzz_image", "alpha.png", as_string(encode(".png", bgra)));
    write_seed("fuzz_image", "lossy.webp", as_string(encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 80})));
    write_seed("fuzz_image", "lossless.webp", as_string(encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 101})));
    write_seed("fuzz_image", "colour.bmp", as_string(encode(".bmp", image)));
    write_seed("fuzz_image", "grey.bmp", as_string(encode(".bmp", grey)));
    // The face-api photos, small: real camera JPEGs' structure at a size the fuzzer runs fast on.
    if (face_api_dir.empty() || !fs::is_directory(face_api_dir)) return;
    std::vector<fs::path> photos;
    for (const auto& entry : fs::directory_iterator(face_api_dir))
        if (entry.path().extension() == ".jpg") photos.push_back(entry.path());
    std::sort(photos.begin(), photos.end());
    for (const auto& photo : photos) {
        const cv::Mat full = faceproof::load_image(photo);
        const double scale = 96.0 / std::max(full.cols, full.rows);
        cv::Mat small;
        cv::resize(full, small, {}, scale, scale, cv::INTER_AREA);
        const std::string stem = photo.stem().string();
        write_seed("fuzz_image", stem + ".jpg", as_string(encode(".jpg", small, {cv::IMWRITE_JPEG_QUALITY, 85})));
        write_seed("fuzz_image", stem + ".png", as_string(encode(".png", small)));
        write_seed("fuzz_image", stem + ".webp", as_string(encode(".webp", small, {cv::IMWRITE_WEBP_QUALITY, 75})));
    }
}

faceproof::Template random_template(std::size_t dimension, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, 1.f);
    faceproof::Template t{"fr_feature/arcface112-bgr+flip",
                          "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210",
                          std::vector<float>(dimension)};
    double norm = 0;
    for (float& v : t.values) {
        v = normal(rng);
        norm += double{v} * v;
    }
    for (float& v : t.values) v = static_cast<float>(v / std::sqrt(norm));
    return t;
}

void template_seeds() {
    write_seed("fuzz_template", "512.fptm", as_string(faceproof::serialize_template(random_template(512, 1))));
    write_seed("fuzz_template", "4.fptm", as_string(faceproof::serialize_template(random_template(4, 2))));
}

std::string base64(const std::string& bytes) {
    std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

const std::string kConsent =
    R"({"purpose":"identity-proofing","legal_basis":"consent","notice_version":"v1",)"
    R"("given_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"})";

std::string request(const std::string& content_type, const std::string& body) {
    return "POST /v1/fuzz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer fp_key\r\n"
           "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string multipart(const std::vector<std::pair<std::string, std::string>>& files,
                      const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string body;
    for (const auto& [name, content] : files)
        body += "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + name +
                ".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n" + content + "\r\n";
    for (const auto& [name, value] : fields)
        body += "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
    return body + "--XyZ--\r\n";
}

void request_body_seeds() {
    const std::string jpeg = as_string(encode(".jpg", synthetic_image(16, 16), {cv::IMWRITE_JPEG_QUALITY, 50}));
    const std::string form = "multipart/form-data; boundary=XyZ";
    write_seed("fuzz_request_body", "verify-multipart.http",
               request(form, multipart({{"reference", jpeg}, {"probe", jpeg}, {"probe", jpeg}},
                                       {{"fmr", "1e-4"}, {"require_liveness", "false"}, {"subject", "cust-42"}})));
    write_seed("fuzz_request_body", "enrol-multipart.http",
               request(form, multipart({{"image", jpeg}}, {{"subject", "cust-42"}, {"consent", kConsent},
                                                           {"allow_duplicate", "1"}, {"profile", "document"}})));
    write_seed("fuzz_request_body", "search-multipart.http",
               request(form, multipart({{"image", jpeg}}, {{"top", "5"}, {"fmr", "0.001"}})));
    write_seed("fuzz_request_body", "verify-json.http",
               request("application/json", R"({"reference":")" + base64(jpeg) + R"(","probe":["data:image/jpeg;base64,)" +
                                               base64(jpeg) + R"("],"fmr":0.0001,"require_liveness":true})"));
    write_seed("fuzz_request_body", "enrol-json.http",
               request("application/json; charset=utf-8", R"({"image":")" + base64(jpeg) +
                                                              R"(","subject":"cust-42","consent":)" + kConsent +
                                                              R"(,"allow_duplicate":false,"top":3})"));
    write_seed("fuzz_request_body", "bad-base64-json.http", request("application/json", R"({"reference":"%%%","probe":"x"})"));
    const std::string json = R"({"image":")" + base64(jpeg) + R"("})";
    char chunk_size[16];
    std::snprintf(chunk_size, sizeof chunk_size, "%zx", json.size());
    write_seed("fuzz_request_body", "chunked-json.http",
               "POST /v1/fuzz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" + std::string(chunk_size) + "\r\n" + json + "\r\n0\r\n\r\n");
    write_seed("fuzz_request_body", "urlencoded.http", request("application/x-www-form-urlencoded", "subject=a&fmr=1"));
}

// fuzz_index_image: one small valid image per option byte (the target's first byte), so mutations
// start from real structure (codes, ids, graph, floats).
void index_image_seeds() {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal;
    for (unsigned mode = 0; mode < 8; ++mode) {
        faceproof::GalleryIndexOptions options;
        options.dimension = 8;
        options.compact = (mode & 1) != 0;
        options.keep_full_precision = !options.compact || (mode & 2) != 0;
        options.approximate_from = (mode & 4) ? 4 : 0;
        options.threads = 1;
        const auto index = faceproof::GalleryIndex::create(options);
        for (std::int64_t id = 1; id <= 6; ++id) {
            std::vector<float> v(options.dimension);
            double norm = 0;
            for (auto& x : v) {
                x = normal(rng);
                norm += double(x) * x;
            }
            for (auto& x : v) x = static_cast<float>(x / std::sqrt(norm));
            index->add(id, v);
        }
        const auto image = index->save();
        write_seed("fuzz_index_image", "mode" + std::to_string(mode) + ".bin",
                   std::string(1, static_cast<char>(mode)) + std::string(image.bytes.begin(), image.bytes.end()));
    }
}

void json_seeds() {
    // fuzz_session_fields: first byte odd = a number list, even = a challenge.
    write_seed("fuzz_session_fields", "timestamps.txt", std::string(1, '\1') + "0,100,200.5, 300");
    write_seed("fuzz_session_fields", "challenge.json",
               std::string(1, '\0') + R"({"nonce":"00112233445566778899aabbccddeeff","mode":"motion_light",)"
                                      R"("steps":[{"action":"turn_left","hold_ms":800},{"action":"blink","hold_ms":600}],)"
                                      R"("colors":[{"rgb":[255,80,80],"ms":400},{"rgb":[255,160,80],"ms":300}]})");
    write_seed("fuzz_consent", "valid.json", kConsent);
    write_seed("fuzz_consent", "missing-field.json", R"({"purpose":"identity-proofing","legal_basis":"consent"})");
    write_seed("fuzz_config", "full.json",
               R"({"host": "0.0.0.0", "port": 9000, "db": "sqlite:/tmp/x.db", "key_file": "/etc/k",
                   "models_dir": "/opt/models", "workers": 3, "queue": 7, "max_body_bytes": 1000,
                   "max_image_bytes": 900, "max_image_pixels": 4000000, "max_image_side": 2000,
                   "request_timeout_s": 5, "rate_limit_per_minute": 60, "lockout_failures": 2,
                   "lockout_window_s": 30, "lockout_s": 60, "retain_images": true, "sync_interval_s": 0.5})");
    write_seed("fuzz_config", "empty.json", "{}");
    // One small document per setting: short inputs mutate into the interesting values faster.
    const std::vector<std::pair<std::string, std::string>> settings = {
        {"host", "\"127.0.0.1\""}, {"port", "8080"}, {"db", "\"sqlite:\""}, {"key_file", "\"k\""},
        {"models_dir", "\"m\""}, {"workers", "2"}, {"queue", "-1"}, {"max_body_bytes", "41943040"},
        {"max_image_bytes", "33554432"}, {"max_image_pixels", "40000000"}, {"max_image_side", "16384"},
        {"request_timeout_s", "30"}, {"rate_limit_per_minute", "600"}, {"lockout_failures", "5"},
        {"lockout_window_s", "180"}, {"lockout_s", "900"}, {"retain_images", "false"}, {"sync_interval_s", "0.25"},
        {"liveness_session_ttl_s", "60"}, {"liveness_session_max_frames", "120"},
        {"gallery_snapshot_dir", "\"/tmp/s\""}, {"gallery_snapshot_interval_s", "600"},
        {"gallery_keep_full_precision", "false"}, {"gallery_exact_budget_ms", "10"}};
    for (const auto& [name, value] : settings) write_seed("fuzz_config", name + ".json", "{\"" + name + "\": " + value + "}");
}

// Chip documents: MRZ text, data groups (the first byte picks the parser: 0 DG1, 1 DG2, 2 DG14,
// 3 DG15, 4 a TLV walk), EF.SOD and master lists signed by the test PKI, portraits (0 JPEG, 1 JP2).
void document_seeds(const fs::path& face_api_dir) {
    write_seed("fuzz_mrz", "td3.txt", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n");
    write_seed("fuzz_mrz", "td1.txt",
               "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<\n");
    write_seed("fuzz_mrz", "td2.txt", "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6\n");
    write_seed("fuzz_mrz", "id-number.txt", "11010519491231002X\n");

    const std::vector<std::string> td3{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                                       "L898902C36UTO7408122F1204159ZE184226B<<<<<10"};
    const auto with_selector = [](std::uint8_t selector, const std::vector<std::uint8_t>& bytes) {
        std::string out(1, static_cast<char>(selector));
        out.append(bytes.begin(), bytes.end());
        return out;
    };
    const auto dg1 = fptest::dg1_from_mrz(td3);
    write_seed("fuzz_data_groups", "dg1.bin", with_selector(0, dg1));
    cv::Mat face(96, 80, CV_8UC3, cv::Scalar(120, 140, 170));
    if (!face_api_dir.empty() && fs::exists(face_api_dir / "sample1.jpg")) {
        cv::Mat photo = cv::imread((face_api_dir / "sample1.jpg").string());
        if (!photo.empty()) cv::resize(photo, face, {96, 64}, 0, 0, cv::INTER_AREA);
    }
    const auto jpeg = encode(".jpg", face, {cv::IMWRITE_JPEG_QUALITY, 80});
    const auto jp2 = encode(".jp2", face);
    const auto u16 = [](int v) { return static_cast<std::uint16_t>(v); };
    const auto dg2 = fptest::dg2_from_image(jpeg, "jpeg", u16(face.cols), u16(face.rows), fptest::Encoding::iso19794_5);
    write_seed("fuzz_data_groups", "dg2-19794.bin", with_selector(1, dg2));
    write_seed("fuzz_data_groups", "dg2-39794.bin",
               with_selector(1, fptest::dg2_from_image(jpeg, "jpeg", u16(face.cols), u16(face.rows),
                                                       fptest::Encoding::iso39794_5)));
    if (!jp2.empty())
        write_seed("fuzz_data_groups", "dg2-jp2.bin",
                   with_selector(1, fptest::dg2_from_image(jp2, "jp2", u16(face.cols), u16(face.rows),
                                                           fptest::Encoding::iso19794_5)));
    const auto& pki = fptest::document_pki();
    write_seed("fuzz_data_groups", "dg14.bin",
               with_selector(2, fptest::dg14_with({fptest::chip_authentication_public_key_info(pki.ds_p256.key.get()),
                                                   fptest::terminal_authentication_info()})));
    write_seed("fuzz_data_groups", "dg15.bin", with_selector(3, fptest::dg15_from_public_key(pki.ds_pss.key.get())));
    write_seed("fuzz_data_groups", "tlv.bin", with_selector(4, dg2));

    const std::map<int, std::vector<std::uint8_t>> groups{{1, dg1}, {2, dg2}};
    write_seed("fuzz_sod", "rsa-pss.sod", as_string(fptest::make_sod(groups, pki.ds_pss)));
    write_seed("fuzz_sod", "ecdsa-p256.sod", as_string(fptest::make_sod(groups, pki.ds_p256)));
    write_seed("fuzz_master_list", "list.ml", as_string(fptest::make_master_list({pki.csca_rsa.cert}, pki.ml_signer)));

    write_seed("fuzz_portrait", "portrait.jpg", with_selector(0, jpeg));
    if (!jp2.empty()) write_seed("fuzz_portrait", "portrait.jp2", with_selector(1, jp2));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::cerr << "usage: fuzz_make_seeds OUT_DIR [FACE_API_DIR]\n";
        return 64;
    }
    faceproof::ensure_sodium();
    out_dir = argv[1];
    try {
        image_seeds(argc == 3 ? fs::path(argv[2]) : fs::path());
        template_seeds();
        request_body_seeds();
        json_seeds();
        index_image_seeds();
        document_seeds(argc == 3 ? fs::path(argv[2]) : fs::path());
    } catch (const std::exception& e) {
        std::cerr << "fuzz_make_seeds: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
