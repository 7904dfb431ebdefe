// The ControlNet preprocessors: Canny bit for bit with OpenCV's reference maps (RGB input,
// as the web UI's module passes it, and grey), the inpaint condition as diffusers'
// make_inpaint_condition, every other map's kind and meaning, the resize modes, and the
// refusals of unknown names and parameters out of range.
#include <QtTest/QtTest>
#include <opencv2/imgproc.hpp>

#include "core/control/preprocessors.h"
#include "core/image/image_prep.h"
#include "core/pipeline/control_image.h"
#include "core/pipeline/control_request.h"
#include "core/util/error.h"
#include "tests/support/controlnet_golden.h"
#include "tests/support/error_message.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

const test::GoldenSet& set() { return test::controlnet_set(); }

cv::Mat mat_of(const torch::Tensor& hwc) {
  const auto t = hwc.contiguous();
  const int channels = t.dim() == 3 ? static_cast<int>(t.size(2)) : 1;
  cv::Mat m(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC(channels),
            t.data_ptr());
  return m.clone();
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// A white picture with a dark stroke and a dark disc.
cv::Mat drawing() {
  cv::Mat picture(64, 80, CV_8UC3, cv::Scalar(250, 250, 250));
  cv::line(picture, {5, 5}, {70, 50}, cv::Scalar(10, 10, 10), 3);
  cv::circle(picture, {20, 45}, 8, cv::Scalar(30, 60, 90), -1);
  return picture;
}

}  // namespace

class TestControlPreprocessors : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void cannyIsOpenCvBitForBit() {
    const QJsonObject golden = set().case_of("canny_reference");
    int compared = 0;
    for (const QJsonValue& value : golden.value("items").toArray()) {
      const QJsonObject item = value.toObject();
      const cv::Mat rgb =
          mat_of(set().tensor(item.value("image_uint8").toObject().value("file").toString()));
      const double low = item.value("low_threshold").toDouble();
      const double high = item.value("high_threshold").toDouble();
      const cv::Mat expected_rgb =
          mat_of(set().tensor(item.value("canny_rgb").toObject().value("file").toString()));
      const cv::Mat expected_grey =
          mat_of(set().tensor(item.value("canny_gray").toObject().value("file").toString()));
      // The map is the edges in three channels; each equals OpenCV's reference.
      const cv::Mat map = control::canny_map(rgb, low, high);
      QCOMPARE(map.type(), CV_8UC3);
      cv::Mat channel;
      cv::extractChannel(map, channel, 1);
      QVERIFY2(same(channel, expected_rgb),
               qPrintable(item.value("canny_rgb").toObject().value("file").toString()));
      // Through preprocess, with the thresholds as the unit's parameters.
      QVERIFY(same(control::preprocess(rgb, {"canny", low, high}), map));
      // Grey input (cv2.COLOR_RGB2GRAY), for programs that pass it.
      cv::Mat grey;
      cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
      QVERIFY(same(grey, mat_of(set().tensor(
                             item.value("gray_input").toObject().value("file").toString()))));
      cv::extractChannel(control::canny_map(grey, low, high), channel, 0);
      QVERIFY(same(channel, expected_grey));
      ++compared;
    }
    QCOMPARE(compared, 6);
  }

  void inpaintConditionIsDiffusers() {
    const cv::Mat picture =
        image::load_image_rgb(test::controlnet_file("inputs/image_b_h64_w64.png").toStdString());
    const cv::Mat mask =
        image::load_mask(test::controlnet_file("inputs/mask_a_h64_w64.png").toStdString());
    const cv::Mat map = control::preprocess(picture, {"inpaint", -1, -1}, mask);
    QCOMPARE(map.type(), CV_32FC3);
    const auto tensor = pipeline::control_image_tensor(map, 64, 64);
    QVERIFY(
        torch::equal(tensor, set().tensor("inputs/inpaint_condition_image_b_mask_a_h64_w64.npy")));
    // Through the request: the same condition from the unit and the request's mask.
    api::ControlUnit unit;
    unit.image_path = test::controlnet_file("inputs/image_b_h64_w64.png").toStdString();
    unit.preprocessor = "inpaint";
    const auto via_request =
        pipeline::control_image_tensor(pipeline::control_map(unit, 64, 64, mask), 64, 64);
    QVERIFY(torch::equal(via_request, tensor));
    QVERIFY(test::error_message([&] {
              control::preprocess(picture, {"inpaint", -1, -1});
            }).contains("needs a mask"));
    // The preview shows the masked area black.
    const cv::Mat preview = control::map_preview(map);
    QCOMPARE(preview.type(), CV_8UC3);
  }

  void mapsMeanWhatTheyShould() {
    const cv::Mat picture = drawing();
    for (const auto& info : control::preprocessors()) {
      if (info.name == "inpaint") continue;
      const cv::Mat map = control::preprocess(picture, {info.name, -1, -1});
      QCOMPARE(map.type(), CV_8UC3);
      QCOMPARE(map.size(), picture.size());
    }
    QVERIFY(same(control::preprocess(picture, {"none", -1, -1}), picture));
    // Scribble, lineart and invert: the dark stroke is white on black.
    for (const char* name : {"scribble", "lineart", "invert"}) {
      const cv::Mat map = control::preprocess(picture, {name, -1, -1});
      QVERIFY2(map.at<cv::Vec3b>(5 + 45 / 2, 5 + 65 / 2)[0] > 128, name);  // on the stroke
      QVERIFY2(map.at<cv::Vec3b>(60, 75)[0] < 64, name);                   // on the paper
    }
    // Soft edges: strong at the stroke's border, nothing far from it.
    const cv::Mat soft = control::preprocess(picture, {"softedge", -1, -1});
    QVERIFY(soft.at<cv::Vec3b>(60, 75)[0] < 16);
    double peak = 0;
    cv::minMaxLoc(soft.reshape(1), nullptr, &peak);
    QVERIFY(peak > 128);
    // Tile keeps the colours: the mean moves little, the detail goes.
    const cv::Mat tile = control::preprocess(picture, {"tile", 8, 0});
    QVERIFY(std::abs(cv::mean(tile)[0] - cv::mean(picture)[0]) < 6);
    QVERIFY(cv::norm(tile, picture, cv::NORM_INF) > 50);
  }

  void resizeModesFitTheSize() {
    api::ControlUnit unit;
    unit.image_path = test::controlnet_file("inputs/scribble_b_60_100.png").toStdString();
    for (const char* mode : {"stretch", "crop", "fill"}) {
      unit.resize_mode = mode;
      const auto tensor =
          pipeline::control_image_tensor(pipeline::control_map(unit, 64, 64), 64, 64);
      QCOMPARE(tensor.sizes(), (torch::IntArrayRef{1, 3, 64, 64}));
    }
    // Stretching is diffusers' Lanczos resize (the golden case's preprocessed picture).
    unit.resize_mode = "stretch";
    const auto stretched =
        pipeline::control_image_tensor(pipeline::control_map(unit, 80, 48), 80, 48);
    QVERIFY(torch::equal(stretched, set().tensor("preprocessed/scribble_b_60_100_to_h48_w80.npy")));
  }

  void refusesWhatCannotRun() {
    const cv::Mat picture = drawing();
    QVERIFY(test::error_message([&] {
              control::preprocess(picture, {"depth", -1, -1});
            }).contains("canny"));
    QVERIFY(test::error_message([&] {
              control::preprocess(picture, {"canny", 300, 200});
            }).contains("out of range"));
    api::GenerationRequest request;
    api::ControlUnit unit;
    unit.model_path = "net";
    unit.image_path = "picture.png";
    request.control_units = {unit};
    QVERIFY(test::error_message([&] { pipeline::validate_control_units(request); }).isEmpty());
    const auto refused = [&](auto change, const char* expected) {
      api::GenerationRequest r = request;
      change(r.control_units[0]);
      const QString message = test::error_message([&] { pipeline::validate_control_units(r); });
      QVERIFY2(message.contains(expected), qPrintable(message));
    };
    refused([](api::ControlUnit& u) { u.model_path.clear(); }, "names no ControlNet model");
    refused([](api::ControlUnit& u) { u.image_path.clear(); }, "no control picture");
    refused([](api::ControlUnit& u) { u.weight = std::nan(""); }, "weight");
    refused([](api::ControlUnit& u) { u.guidance_start = 0.8, u.guidance_end = 0.2; },
            "start 0.8 and end 0.2");
    refused([](api::ControlUnit& u) { u.preprocessor = "pose"; }, "unknown preprocessor");
    refused([](api::ControlUnit& u) { u.preprocessor = "canny", u.threshold_b = 900; },
            "High threshold 900");
    refused([](api::ControlUnit& u) { u.resize_mode = "zoom"; }, "resize mode");
    // A disabled unit is not checked (nor run).
    api::GenerationRequest off = request;
    off.control_units[0].model_path.clear();
    off.control_units[0].enabled = false;
    QVERIFY(test::error_message([&] { pipeline::validate_control_units(off); }).isEmpty());
  }
};

QTEST_GUILESS_MAIN(TestControlPreprocessors)
#include "tst_control_preprocessors.moc"
