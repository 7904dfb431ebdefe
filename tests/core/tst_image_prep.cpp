#include <QtTest/QtTest>

#include <QFile>
#include <QTemporaryDir>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/image/image_prep.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/memory_limit.h"

using namespace latent;

namespace {

QString input_path(const QString& name) { return test::data_path("golden-img2img/inputs/" + name); }

// uint8 [H,W,C] .npy → cv::Mat with the same bytes.
cv::Mat mat_of_npy(const QString& path) {
  const auto t = test::load_npy(path).contiguous();
  const int channels = t.dim() == 3 ? static_cast<int>(t.size(2)) : 1;
  cv::Mat m(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC(channels));
  std::memcpy(m.data, t.data_ptr<uint8_t>(), static_cast<size_t>(t.numel()));
  return m;
}

// diffusers' normalisation of 8-bit pixels: x/255 in float32, then 2x − 1.
torch::Tensor normalised(const cv::Mat& rgb) {
  const auto hwc = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, rgb.channels()}, torch::kUInt8).clone();
  return (hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0) * 2.0 - 1.0).contiguous();
}

bool identical(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

template <typename F>
QString error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

// Left half red, right half blue.
cv::Mat two_colours(int width, int height) {
  cv::Mat m(height, width, CV_8UC3, cv::Scalar(255, 0, 0));
  m(cv::Rect(width / 2, 0, width - width / 2, height)).setTo(cv::Scalar(0, 0, 255));
  return m;
}

}  // namespace

class TestImagePrep : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void loadsPngAsStored();
  void loadsMaskAsLuma();
  void lumaMatchesPil();
  void badFilesAreRefused();
  void hugeImageRefusedBeforeDecoding();
  void decodingRefusalFollowsMemoryLimit();
  void probesHeaders();
  void lanczosMatchesPillow_data();
  void lanczosMatchesPillow();
  void resizeKeepsSizeAsCopy();
  void workingSizeRoundsDown();
  void resizeModes_data();
  void resizeModes();
  void padModeFillsMaskWhite();
  void thresholdAt128();
  void blurFeathersTheEdge();
  void emptyMask();
  void cropRegionAroundMask();
  void cropRegionNearTheBorder();
  void pasteBackWithSoftEdge();
  void pasteBackHardMaskKeepsOutside();
  void extendCanvasForOutpainting();
  void pixelHash();
};

void TestImagePrep::loadsPngAsStored() {
  for (const QString name : {"image_a_h64_w64", "image_b_h48_w80", "image_b_h60_w70", "image_c_h128_w128"}) {
    const cv::Mat loaded = image::load_image_rgb(input_path(name + ".png").toStdString());
    QVERIFY2(identical(loaded, mat_of_npy(input_path(name + ".npy"))), qPrintable(name));
  }
}

void TestImagePrep::loadsMaskAsLuma() {
  for (const QString name : {"mask_a_h64_w64", "mask_b_h48_w80"}) {
    const cv::Mat mask = image::load_mask(input_path(name + ".png").toStdString());
    QCOMPARE(mask.channels(), 1);
    QVERIFY2(identical(mask, mat_of_npy(input_path(name + ".npy"))), qPrintable(name));
  }
  // A colour mask file gives its luma.
  QTemporaryDir dir;
  const std::string path = dir.filePath("mask.png").toStdString();
  cv::Mat bgr(4, 4, CV_8UC3, cv::Scalar(0, 0, 255));  // pure red
  QVERIFY(cv::imwrite(path, bgr));
  const cv::Mat mask = image::load_mask(path);
  QCOMPARE(mask.channels(), 1);
  QCOMPARE(static_cast<int>(mask.at<uint8_t>(0, 0)), 76);
}

void TestImagePrep::lumaMatchesPil() {
  // PIL's convert("L"): (R·19595 + G·38470 + B·7471 + 2^15) >> 16.
  cv::Mat rgb(1, 5, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = {255, 0, 0};
  rgb.at<cv::Vec3b>(0, 1) = {0, 255, 0};
  rgb.at<cv::Vec3b>(0, 2) = {0, 0, 255};
  rgb.at<cv::Vec3b>(0, 3) = {255, 255, 255};
  rgb.at<cv::Vec3b>(0, 4) = {128, 128, 127};
  const cv::Mat l = image::rgb_to_luma(rgb);
  QCOMPARE(static_cast<int>(l.at<uint8_t>(0, 0)), 76);
  QCOMPARE(static_cast<int>(l.at<uint8_t>(0, 1)), 150);
  QCOMPARE(static_cast<int>(l.at<uint8_t>(0, 2)), 29);
  QCOMPARE(static_cast<int>(l.at<uint8_t>(0, 3)), 255);
  QCOMPARE(static_cast<int>(l.at<uint8_t>(0, 4)), 128);
}

void TestImagePrep::badFilesAreRefused() {
  QTemporaryDir dir;
  QVERIFY(error_of([&] { image::load_image_rgb(dir.filePath("absent.png").toStdString()); }).contains("does not exist"));
  QVERIFY(error_of([&] { image::load_image_rgb(dir.path().toStdString()); }).contains("is not a file"));
  QFile corrupt(dir.filePath("corrupt.png"));
  QVERIFY(corrupt.open(QIODevice::WriteOnly));
  corrupt.write(QByteArray("\x89PNG\r\n\x1a\n", 8) + QByteArray(200, 'x'));
  corrupt.close();
  const QString message = error_of([&] { image::load_image_rgb(corrupt.fileName().toStdString()); });
  QVERIFY2(message.contains("corrupt.png") && message.contains("could not be"), qPrintable(message));
  QFile text(dir.filePath("notes.txt"));
  QVERIFY(text.open(QIODevice::WriteOnly));
  text.write("not a picture");
  text.close();
  QVERIFY(!error_of([&] { image::load_mask(text.fileName().toStdString()); }).isEmpty());
}

void TestImagePrep::hugeImageRefusedBeforeDecoding() {
  // A PNG header claiming 200000 x 200000 pixels: refused from the header, with the estimate.
  QTemporaryDir dir;
  QFile file(dir.filePath("huge.png"));
  QVERIFY(file.open(QIODevice::WriteOnly));
  QByteArray header("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
  const uint32_t side = 200000;
  for (int k = 0; k < 2; ++k)
    for (int shift = 24; shift >= 0; shift -= 8) header.append(static_cast<char>((side >> shift) & 0xFF));
  header.append(QByteArray("\x08\x02\0\0\0", 5));
  file.write(header);
  file.close();
  QCOMPARE(image::probe_image_size(file.fileName().toStdString()), cv::Size(200000, 200000));
  const QString message = error_of([&] { image::load_image_rgb(file.fileName().toStdString()); });
  QVERIFY2(message.contains("200000x200000") && message.contains("needs about"), qPrintable(message));
}

void TestImagePrep::decodingRefusalFollowsMemoryLimit() {
  // Decoding is estimated at 8 bytes a pixel and refused above half of the available memory:
  // 512x512 needs 2 MiB, which any machine has, but not under a 1 MiB limit; 16x16 (2 KiB)
  // still fits under it. The limit reaches the check through util::available_memory().
  QTemporaryDir dir;
  const std::string large = dir.filePath("large.png").toStdString();
  const std::string small = dir.filePath("small.png").toStdString();
  QVERIFY(cv::imwrite(large, two_colours(512, 512)));
  QVERIFY(cv::imwrite(small, two_colours(16, 16)));
  QCOMPARE(image::load_image_rgb(large).size(), cv::Size(512, 512));

  test::MemoryLimit limit(1);
  const QString message = error_of([&] { image::load_image_rgb(large); });
  QVERIFY2(message.contains("large.png' is 512x512 pixels") && message.contains("needs about 2 MiB") &&
               message.contains("1 MiB of memory available (LATENT_MEMORY_LIMIT_MB)"),
           qPrintable(message));
  const QString mask_message = error_of([&] { image::load_mask(large); });
  QVERIFY2(mask_message.contains("the mask") && mask_message.contains("LATENT_MEMORY_LIMIT_MB"),
           qPrintable(mask_message));
  QCOMPARE(image::load_image_rgb(small).size(), cv::Size(16, 16));
  QCOMPARE(image::load_mask(small).size(), cv::Size(16, 16));
}

void TestImagePrep::probesHeaders() {
  QTemporaryDir dir;
  const cv::Mat picture = two_colours(37, 23);
  for (const char* ext : {"png", "jpg", "bmp", "webp"}) {
    const std::string path = dir.filePath(QString("p.") + ext).toStdString();
    if (!cv::haveImageWriter(path)) continue;
    QVERIFY(cv::imwrite(path, picture));
    QCOMPARE(image::probe_image_size(path), cv::Size(37, 23));
    QCOMPARE(image::load_image_rgb(path).size(), cv::Size(37, 23));
  }
  QCOMPARE(image::probe_image_size(dir.filePath("absent").toStdString()), cv::Size());
}

void TestImagePrep::lanczosMatchesPillow_data() {
  QTest::addColumn<QString>("input");
  QTest::addColumn<QString>("expected");
  QTest::addColumn<int>("width");
  QTest::addColumn<int>("height");
  QTest::addColumn<bool>("isMask");
  // The golden cases that diffusers resized with PIL's Image.resize(LANCZOS).
  QTest::newRow("70x60 -> 64x56 (img2img)") << "image_b_h60_w70" << "image_b_h60_w70_to_h56_w64" << 64 << 56 << false;
  QTest::newRow("80x48 -> 64x64 (inpaint image)") << "image_b_h48_w80" << "image_b_h48_w80_to_h64_w64" << 64 << 64 << false;
  QTest::newRow("80x48 -> 64x64 (inpaint mask)") << "mask_b_h48_w80" << "mask_b_h48_w80_to_h64_w64" << 64 << 64 << true;
}

void TestImagePrep::lanczosMatchesPillow() {
  QFETCH(QString, input);
  QFETCH(QString, expected);
  QFETCH(int, width);
  QFETCH(int, height);
  QFETCH(bool, isMask);
  const QString path = test::data_path("golden-img2img/preprocessed/" + expected + ".npy");
  if (!QFile::exists(path)) QSKIP("this golden set has no preprocessed file for the case");
  const cv::Mat source = mat_of_npy(input_path(input + ".npy"));
  const cv::Mat resized = image::resize_lanczos(source, width, height);
  QCOMPARE(resized.size(), cv::Size(width, height));
  const auto golden = test::load_npy(path);
  if (isMask) {
    // The mask processor binarises x/255 at 0.5.
    const auto hw = torch::from_blob(resized.data, {height, width}, torch::kUInt8).clone();
    const auto binary = (hw.to(torch::kFloat32).div(255.0) >= 0.5).to(torch::kFloat32).view({1, 1, height, width});
    QVERIFY(torch::equal(binary, golden.view({1, 1, height, width})));
  } else {
    QVERIFY2(torch::equal(normalised(resized), golden), "the resize differs from Pillow's LANCZOS");
  }
}

void TestImagePrep::resizeKeepsSizeAsCopy() {
  const cv::Mat picture = two_colours(16, 8);
  const cv::Mat same = image::resize_lanczos(picture, 16, 8);
  QVERIFY(identical(same, picture));
  QVERIFY(same.data != picture.data);
  // Flat colour stays flat through both passes (weights sum to one).
  const cv::Mat flat(30, 50, CV_8UC3, cv::Scalar(10, 200, 77));
  const cv::Mat scaled = image::resize_lanczos(flat, 21, 64);
  QVERIFY(identical(scaled, cv::Mat(64, 21, CV_8UC3, cv::Scalar(10, 200, 77))));
}

void TestImagePrep::workingSizeRoundsDown() {
  QCOMPARE(image::working_size_for({70, 60}), cv::Size(64, 56));
  QCOMPARE(image::working_size_for({64, 64}), cv::Size(64, 64));
  QCOMPARE(image::working_size_for({5, 1000}), cv::Size(8, 1000));
}

void TestImagePrep::resizeModes_data() {
  QTest::addColumn<QString>("mode");
  QTest::newRow("resize") << "resize";
  QTest::newRow("crop") << "crop";
  QTest::newRow("pad") << "pad";
}

void TestImagePrep::resizeModes() {
  QFETCH(QString, mode);
  const auto m = image::parse_resize_mode(mode.toStdString());
  QCOMPARE(QString::fromStdString(image::resize_mode_name(m)), mode);
  // 200x100: red left half, blue right half; into a 64x64 frame.
  const cv::Mat picture = two_colours(200, 100);
  const cv::Mat fitted = image::fit_image(picture, 64, 64, m);
  QCOMPARE(fitted.size(), cv::Size(64, 64));
  QCOMPARE(fitted.type(), CV_8UC3);
  const auto px = [&](int x, int y) { return fitted.at<cv::Vec3b>(y, x); };
  if (m == image::ResizeMode::resize) {
    // Stretched: the halves stay halves.
    QCOMPARE(px(2, 32), cv::Vec3b(255, 0, 0));
    QCOMPARE(px(61, 32), cv::Vec3b(0, 0, 255));
  } else if (m == image::ResizeMode::crop) {
    // Scaled to 128x64 and the middle 64 columns kept: red on the left, blue on the right,
    // the edge in the middle, the outer quarters of the picture gone.
    const auto p = image::placement_for(picture.size(), 64, 64, m);
    QCOMPARE(p.scaled, cv::Size(128, 64));
    QCOMPARE(p.frame, cv::Rect(32, 0, 64, 64));
    QCOMPARE(px(10, 10), cv::Vec3b(255, 0, 0));
    QCOMPARE(px(53, 50), cv::Vec3b(0, 0, 255));
  } else {
    // Scaled to 64x32 in the middle; the bands above and below repeat the edge rows.
    const auto p = image::placement_for(picture.size(), 64, 64, m);
    QCOMPARE(p.scaled, cv::Size(64, 32));
    QCOMPARE(p.target, cv::Rect(0, 16, 64, 32));
    QCOMPARE(px(2, 0), cv::Vec3b(255, 0, 0));
    QCOMPARE(px(61, 63), cv::Vec3b(0, 0, 255));
    for (int x = 0; x < 64; ++x) {
      QCOMPARE(px(x, 0), px(x, 16));
      QCOMPARE(px(x, 63), px(x, 47));
    }
  }
  QVERIFY(error_of([] { image::parse_resize_mode("stretch"); }).contains("resize, crop or pad"));
}

void TestImagePrep::padModeFillsMaskWhite() {
  const cv::Mat mask(100, 200, CV_8UC1, cv::Scalar(0));
  const cv::Mat fitted = image::fit_mask(mask, 64, 64, image::ResizeMode::pad);
  QCOMPARE(fitted.size(), cv::Size(64, 64));
  QCOMPARE(cv::countNonZero(fitted(cv::Rect(0, 16, 64, 32))), 0);
  QCOMPARE(cv::countNonZero(fitted(cv::Rect(0, 0, 64, 16)) != 255), 0);
  QCOMPARE(cv::countNonZero(fitted(cv::Rect(0, 48, 64, 16)) != 255), 0);
  // crop and resize keep a mask's values where the source is flat.
  QCOMPARE(cv::countNonZero(image::fit_mask(mask, 64, 64, image::ResizeMode::crop)), 0);
}

void TestImagePrep::thresholdAt128() {
  cv::Mat m(1, 4, CV_8UC1);
  m.at<uint8_t>(0, 0) = 0;
  m.at<uint8_t>(0, 1) = 127;
  m.at<uint8_t>(0, 2) = 128;
  m.at<uint8_t>(0, 3) = 255;
  const cv::Mat t = image::threshold_mask(m);
  QCOMPARE(static_cast<int>(t.at<uint8_t>(0, 0)), 0);
  QCOMPARE(static_cast<int>(t.at<uint8_t>(0, 1)), 0);
  QCOMPARE(static_cast<int>(t.at<uint8_t>(0, 2)), 255);
  QCOMPARE(static_cast<int>(t.at<uint8_t>(0, 3)), 255);
}

void TestImagePrep::blurFeathersTheEdge() {
  cv::Mat mask(64, 64, CV_8UC1, cv::Scalar(0));
  mask(cv::Rect(16, 16, 32, 32)).setTo(255);
  QVERIFY(identical(image::blur_mask(mask, 0), mask));
  const cv::Mat soft = image::blur_mask(mask, 4);
  QCOMPARE(soft.size(), mask.size());
  QCOMPARE(static_cast<int>(soft.at<uint8_t>(32, 32)), 255);  // deep inside
  QCOMPARE(static_cast<int>(soft.at<uint8_t>(2, 2)), 0);      // far outside
  const int at_edge = soft.at<uint8_t>(32, 16);
  QVERIFY2(at_edge > 90 && at_edge < 165, qPrintable(QString::number(at_edge)));
  QVERIFY(soft.at<uint8_t>(32, 13) > 0);    // spreads outwards
  QVERIFY(soft.at<uint8_t>(32, 19) < 255);  // and inwards
  QVERIFY(soft.at<uint8_t>(32, 13) < soft.at<uint8_t>(32, 16));
  QCOMPARE(soft.at<uint8_t>(32, 13), soft.at<uint8_t>(32, 50));  // symmetric (47 + 3)
  QVERIFY(!error_of([&] { image::blur_mask(mask, -1); }).isEmpty());
}

void TestImagePrep::emptyMask() {
  cv::Mat mask(8, 8, CV_8UC1, cv::Scalar(127));
  QVERIFY(image::mask_is_empty(mask));
  mask.at<uint8_t>(3, 3) = 128;
  QVERIFY(!image::mask_is_empty(mask));
}

void TestImagePrep::cropRegionAroundMask() {
  cv::Mat mask(200, 300, CV_8UC1, cv::Scalar(0));
  mask(cv::Rect(100, 80, 40, 20)).setTo(255);  // 40 wide, 20 high
  // Square working size: the padded box (56x36) grows vertically to 56x56, centred.
  const cv::Rect square = image::crop_region_for_mask(mask, 8, 64, 64);
  QCOMPARE(square, cv::Rect(92, 62, 56, 56));
  QVERIFY((square & cv::Rect(100, 80, 40, 20)) == cv::Rect(100, 80, 40, 20));
  // A tall working size (1:2): the box is wider than that, so its height grows to 112.
  const cv::Rect tall = image::crop_region_for_mask(mask, 8, 64, 128);
  QCOMPARE(tall.width, 56);
  QCOMPARE(tall.height, 112);
  QVERIFY(tall.contains({100, 80}) && tall.contains({139, 99}));
  // A wide working size (4:1) grows the width to 144.
  const cv::Rect wide = image::crop_region_for_mask(mask, 8, 256, 64);
  QCOMPARE(wide.size(), cv::Size(144, 36));
  // No mask: the whole image.
  QCOMPARE(image::crop_region_for_mask(cv::Mat(50, 60, CV_8UC1, cv::Scalar(0)), 8, 64, 64), cv::Rect(0, 0, 60, 50));
}

void TestImagePrep::cropRegionNearTheBorder() {
  cv::Mat mask(100, 100, CV_8UC1, cv::Scalar(0));
  mask(cv::Rect(0, 90, 30, 10)).setTo(255);  // bottom-left corner
  const cv::Rect r = image::crop_region_for_mask(mask, 4, 64, 64);
  QCOMPARE(r & cv::Rect(0, 0, 100, 100), r);         // inside the image
  QCOMPARE(r.width, r.height);                       // square, shifted up rather than cut
  QVERIFY(r.contains({0, 99}) && r.contains({29, 90}));
  // A mask wider than the image allows for the ratio: clipped to the image.
  cv::Mat band(40, 100, CV_8UC1, cv::Scalar(0));
  band(cv::Rect(0, 10, 100, 5)).setTo(255);
  QCOMPARE(image::crop_region_for_mask(band, 0, 64, 64), cv::Rect(0, 0, 100, 40));
}

void TestImagePrep::pasteBackWithSoftEdge() {
  const cv::Mat original(32, 32, CV_8UC3, cv::Scalar(0, 0, 0));
  const cv::Mat generated(16, 16, CV_8UC3, cv::Scalar(200, 100, 50));  // scaled up to the region
  cv::Mat soft(32, 32, CV_8UC1, cv::Scalar(0));
  for (int x = 8; x < 24; ++x) soft.col(x).setTo(static_cast<int>((x - 8) * 17));  // 0 .. 255 ramp
  const cv::Rect region(8, 8, 16, 16);
  const cv::Mat out = image::paste_back(original, generated, region, soft);
  QCOMPARE(out.size(), original.size());
  QCOMPARE(out.at<cv::Vec3b>(12, 8), cv::Vec3b(0, 0, 0));          // alpha 0
  QCOMPARE(out.at<cv::Vec3b>(12, 23), cv::Vec3b(200, 100, 50));    // alpha 255
  const cv::Vec3b mid = out.at<cv::Vec3b>(12, 16);                  // alpha 136
  QCOMPARE(static_cast<int>(mid[0]), (200 * 136 + 127) / 255);
  for (int x = 9; x < 24; ++x) QVERIFY(out.at<cv::Vec3b>(12, x)[0] >= out.at<cv::Vec3b>(12, x - 1)[0]);
  QCOMPARE(out.at<cv::Vec3b>(4, 12), cv::Vec3b(0, 0, 0));  // outside the region
  QVERIFY(!error_of([&] { image::paste_back(original, generated, cv::Rect(20, 20, 16, 16), soft); }).isEmpty());
}

void TestImagePrep::pasteBackHardMaskKeepsOutside() {
  cv::Mat original(40, 40, CV_8UC3);
  cv::randu(original, 0, 256);
  cv::Mat generated(40, 40, CV_8UC3);
  cv::randu(generated, 0, 256);
  cv::Mat mask(40, 40, CV_8UC1, cv::Scalar(0));
  cv::circle(mask, {20, 20}, 9, cv::Scalar(255), -1);
  const cv::Mat out = image::paste_back(original, generated, {0, 0, 40, 40}, mask);
  cv::Mat outside_diff;
  cv::absdiff(out, original, outside_diff);
  outside_diff.setTo(0, mask);
  QCOMPARE(cv::countNonZero(outside_diff.reshape(1)), 0);
  cv::Mat inside_diff;
  cv::absdiff(out, generated, inside_diff);
  inside_diff.setTo(0, mask == 0);
  QCOMPARE(cv::countNonZero(inside_diff.reshape(1)), 0);
}

void TestImagePrep::extendCanvasForOutpainting() {
  const cv::Mat picture = two_colours(20, 10);
  cv::Mat mask(10, 20, CV_8UC1, cv::Scalar(0));
  mask.at<uint8_t>(5, 5) = 255;
  const auto canvas = image::extend_canvas(picture, {8, 0, 4, 2}, mask);
  QCOMPARE(canvas.image.size(), cv::Size(32, 12));
  QCOMPARE(canvas.mask.size(), cv::Size(32, 12));
  QCOMPARE(canvas.image.at<cv::Vec3b>(3, 0), cv::Vec3b(255, 0, 0));   // left edge stretched
  QCOMPARE(canvas.image.at<cv::Vec3b>(11, 31), cv::Vec3b(0, 0, 255)); // bottom-right corner
  QVERIFY(identical(canvas.image(cv::Rect(8, 0, 20, 10)), picture));
  QCOMPARE(static_cast<int>(canvas.mask.at<uint8_t>(5, 13)), 255);   // carried over
  QCOMPARE(static_cast<int>(canvas.mask.at<uint8_t>(4, 13)), 0);
  QCOMPARE(cv::countNonZero(canvas.mask(cv::Rect(0, 0, 8, 12)) != 255), 0);
  QCOMPARE(cv::countNonZero(canvas.mask(cv::Rect(28, 0, 4, 12)) != 255), 0);
  QCOMPARE(cv::countNonZero(canvas.mask(cv::Rect(0, 10, 32, 2)) != 255), 0);
  QCOMPARE(cv::countNonZero(canvas.mask), 8 * 12 + 4 * 12 + 20 * 2 + 1);
  QVERIFY(!error_of([&] { image::extend_canvas(picture, {-1, 0, 0, 0}); }).isEmpty());
}

void TestImagePrep::pixelHash() {
  const cv::Mat a = two_colours(20, 10);
  const std::string h = image::pixel_hash(a);
  QCOMPARE(h.size(), std::size_t(10));
  QCOMPARE(image::pixel_hash(a.clone()), h);
  QCOMPARE(image::pixel_hash(image::image_to_mat(image::mat_to_image(a))), h);
  cv::Mat b = a.clone();
  b.at<cv::Vec3b>(0, 0)[1] = 1;
  QVERIFY(image::pixel_hash(b) != h);
  QVERIFY(image::pixel_hash(two_colours(10, 20)) != h);
}

QTEST_GUILESS_MAIN(TestImagePrep)
#include "tst_image_prep.moc"
