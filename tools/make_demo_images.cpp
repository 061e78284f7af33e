// Makes the quick-start demo pair from a group photo: an "ID portrait" (tight, grey, small crop of
// the most prominent face, as printed on a card) and a "selfie" (the same person's wider crop,
// rescaled, slightly rotated and re-compressed), plus an "other person" crop.
//   faceproof_demo_images PHOTO OUT_DIR
// Both demo images come from one photograph: they show the pipeline, not an accuracy claim
// (README "Accuracy" has the measured figures).
#include <iostream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"

using namespace faceproof;

namespace {

cv::Mat crop(const cv::Mat& image, const cv::Rect2f& box, float margin) {
    const cv::Rect2f wide(box.x - margin * box.width, box.y - margin * box.height, box.width * (1 + 2 * margin),
                          box.height * (1 + 2 * margin));
    return image(cv::Rect(wide) & cv::Rect(0, 0, image.cols, image.rows)).clone();
}

void write(const std::string& path, const cv::Mat& image) {
    if (!cv::imwrite(path, image, {cv::IMWRITE_JPEG_QUALITY, 80})) throw Error(ErrorCode::io_error, "cannot write " + path);
    std::cout << "wrote " << path << '\n';
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: faceproof_demo_images PHOTO OUT_DIR\n";
        return 64;
    }
    try {
        const cv::Mat photo = load_image(argv[1]);
        auto engine = Engine::create(ModelSet::open(resolve_model_dir(std::nullopt)));
        const std::vector<Face> faces = engine->detect(photo);
        if (faces.size() < 2) throw Error(ErrorCode::no_face, "the demo photo needs two faces");
        const std::string out = argv[2];

        cv::Mat portrait = crop(photo, faces[0].box, 0.15f), grey;
        cv::resize(portrait, portrait, {}, 180.0 / portrait.cols, 180.0 / portrait.cols, cv::INTER_AREA);
        cv::cvtColor(portrait, grey, cv::COLOR_BGR2GRAY);
        cv::cvtColor(grey, portrait, cv::COLOR_GRAY2BGR);
        write(out + "/id_portrait.jpg", portrait);

        cv::Mat selfie = crop(photo, faces[0].box, 1.0f);
        const cv::Point2f centre(selfie.cols / 2.f, selfie.rows / 2.f);
        cv::warpAffine(selfie, selfie, cv::getRotationMatrix2D(centre, 8, 0.8), selfie.size(), cv::INTER_LINEAR,
                       cv::BORDER_REFLECT);
        write(out + "/selfie.jpg", selfie);

        write(out + "/other_person.jpg", crop(photo, faces[1].box, 1.0f));
        return 0;
    } catch (const Error& e) {
        std::cerr << "faceproof_demo_images: " << e.what() << '\n';
        return 2;
    }
}
