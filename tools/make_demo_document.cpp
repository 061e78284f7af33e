// Makes a demo chip document and its trust store, signed by a PKI generated now (the tests' encoders
// and test PKI, tests/document_builder.* and tests/document_pki.*): for trying `faceproof document
// check` and `verify --document` without a reader. Never a real document: the CSCA is "Utopia".
//   faceproof_demo_document PORTRAIT.jpg OUT_DIR
// writes OUT_DIR/bundle/{EF.SOD,DG1,DG2} (the TD3 specimen holder, expiring 2034) and
// OUT_DIR/trust/csca.pem.
#include <filesystem>
#include <iostream>

#include <opencv2/imgcodecs.hpp>

#include "document_builder.hpp"
#include "document_pki.hpp"

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    if (argc != 3) {
        std::cerr << "usage: faceproof_demo_document PORTRAIT.jpg OUT_DIR\n";
        return 64;
    }
    try {
        const auto jpeg = fptest::read_file(argv[1]);
        const cv::Mat portrait = cv::imdecode(jpeg, cv::IMREAD_COLOR);
        if (portrait.empty() || portrait.cols > 65535 || portrait.rows > 65535) {
            std::cerr << "faceproof_demo_document: " << argv[1] << " is not a JPEG portrait\n";
            return 2;
        }
        const auto dg1 = fptest::dg1_from_mrz(fptest::td3_mrz("L898902C3"));
        const auto dg2 = fptest::dg2_from_image(jpeg, "jpeg", static_cast<std::uint16_t>(portrait.cols),
                                                static_cast<std::uint16_t>(portrait.rows), fptest::Encoding::iso19794_5);
        const auto& pki = fptest::document_pki();
        const fs::path out = argv[2];
        fs::create_directories(out / "bundle");
        fs::create_directories(out / "trust");
        fptest::write_pki_file(out / "bundle" / "EF.SOD", fptest::make_sod({{1, dg1}, {2, dg2}}, pki.ds_pss));
        fptest::write_pki_file(out / "bundle" / "DG1", dg1);
        fptest::write_pki_file(out / "bundle" / "DG2", dg2);
        fptest::write_pki_file(out / "trust" / "csca.pem", fptest::pem_of(pki.csca_rsa.cert.get()));
        std::cout << (out / "bundle").string() << "\n" << (out / "trust").string() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "faceproof_demo_document: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
