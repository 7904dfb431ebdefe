#include <QtTest/QtTest>

#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/image/image_prep.h"
#include "core/image/parameters_text.h"
#include "core/image/settings_json.h"
#include "core/image/tensor_image.h"
#include "core/pipeline/denoise_loop.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/image_request.h"
#include "core/pipeline/image_to_image.h"
#include "core/pipeline/decode.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

QString input_file(const QString& relative) { return test::data_path("golden-img2img/" + relative); }

torch::Tensor output_of(const QJsonObject& golden, const QString& name) {
  const QJsonObject entry = golden.value("outputs").toObject().value(name).toObject();
  if (entry.isEmpty()) return {};
  return test::golden_img2img_tensor(entry.value("file").toString());
}

pipeline::ImageToImageParams params_of(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  pipeline::ImageToImageParams p;
  static_cast<pipeline::TextToImageParams&>(p) = test::text_to_image_params(golden);
  const QJsonArray size = golden.value("processing_size_hw").toArray();
  p.height = size.at(0).toInt();
  p.width = size.at(1).toInt();
  p.strength = in.value("strength").toDouble();
  p.init_image = image::load_image_rgb(input_file(in.value("image_png").toString()).toStdString());
  if (in.contains("mask_png")) p.mask = image::load_mask(input_file(in.value("mask_png").toString()).toStdString());
  return p;
}

// Latents and images within the case's tolerances; `what` names the comparison.
void compare(const torch::Tensor& actual, const torch::Tensor& expected, double atol, const char* what) {
  QString report;
  if (!test::all_close(actual, expected, {atol, 0}, &report))
    QFAIL(qPrintable(QString("%1: %2").arg(what, report)));
}

std::string temp_png(const QTemporaryDir& dir, const QString& name, const cv::Mat& rgb_or_grey) {
  const std::string path = dir.filePath(name).toStdString();
  cv::Mat out;
  if (rgb_or_grey.channels() == 3) cv::cvtColor(rgb_or_grey, out, cv::COLOR_RGB2BGR);
  else out = rgb_or_grey;
  if (!cv::imwrite(path, out)) throw std::runtime_error("cannot write " + path);
  return path;
}

latent::api::GenerationRequest small_request() {
  latent::api::GenerationRequest r;
  r.prompt = "a cat sitting on a bench";
  r.size.width = r.size.height = 64;
  r.sampling.steps = 4;
  r.sampling.sampler = "euler";
  r.sampling.seed = 5;
  r.preview.approximate = false;
  r.preview.vae_every = 0;
  return r;
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

}  // namespace

class TestImageToImage : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void matchesDiffusers_data();
  void matchesDiffusers();
  void strengthSchedule_data();
  void strengthSchedule();
  void strengthZeroIsVaeRoundTrip();
  void strengthOneRunsTheWholeSchedule();
  void observerAndCancel();
  void hardMaskKeepsPixelsOutside_data();
  void hardMaskKeepsPixelsOutside();
  void outpaintingGrowsTheCanvas();
  void inpaintingModelWithoutPicture();
  void engineRecordsThePicture();
  void badInputs_data();
  void badInputs();
  void maskOfAnotherSizeIsResized();
};

void TestImageToImage::matchesDiffusers_data() {
  QTest::addColumn<QString>("id");
  QTest::addColumn<bool>("singleFile");
  for (const QString& id : test::golden_img2img_ids()) {
    const QString model = test::golden_img2img_case(id).value("model").toString();
    QTest::newRow(qPrintable(id + " folder")) << id << false;
    if (QFile::exists(test::data_path(model + ".safetensors")))
      QTest::newRow(qPrintable(id + " single-file")) << id << true;
  }
}

void TestImageToImage::matchesDiffusers() {
  QFETCH(QString, id);
  QFETCH(bool, singleFile);
  const QJsonObject golden = test::golden_img2img_case(id);
  const QJsonObject tol = golden.value("tolerance").toObject();
  const double latents_atol = tol.value("latents_atol").toDouble();
  const double encode_atol = tol.value("vae_encode_latents_atol").toDouble();
  const double initial_atol = tol.value("initial_latents_atol").toDouble();
  auto& model = test::golden_model(golden.value("model").toString(), singleFile);
  const auto params = params_of(golden);

  const QJsonObject in = golden.value("inputs").toObject();
  const auto stored = test::load_npy(input_file(in.value("image_uint8").toObject().value("file").toString()));
  QVERIFY(torch::equal(
      torch::from_blob(params.init_image.data, {params.init_image.rows, params.init_image.cols, 3}, torch::kUInt8),
      stored));

  std::vector<torch::Tensor> trajectory;
  const auto out = pipeline::image_to_image(model, params, [&](const pipeline::StepState& s) {
    QCOMPARE(s.index, static_cast<int>(trajectory.size()));
    trajectory.push_back(s.latents.clone());
  });

  const QString kind = golden.value("kind").toString();
  const auto expected_mode = kind == "img2img"              ? pipeline::ImageMode::image_to_image
                             : kind == "inpaint_legacy_4ch" ? pipeline::ImageMode::inpaint_blend
                                                            : pipeline::ImageMode::inpaint_model;
  QVERIFY(out.mode == expected_mode);

  // Inputs of the loop.
  QVERIFY2(torch::equal(out.init_image, output_of(golden, "init_image_preprocessed")),
           "the preprocessed picture differs (resizing or normalisation)");
  compare(out.prompt_embeds, output_of(golden, "prompt_embeds"), 1e-4, "prompt embeddings");
  const auto image_latents = output_of(golden, "image_latents");
  QCOMPARE(out.image_latents.defined(), image_latents.defined());
  // diffusers encodes the picture once and repeats the latents for the batch.
  if (image_latents.defined())
    compare(out.image_latents.expand_as(image_latents), image_latents, encode_atol, "image latents");
  QVERIFY2(torch::equal(out.noise, output_of(golden, "noise")), "the noise differs: generator draw order");
  compare(out.latents_init, output_of(golden, "latents_init"), initial_atol, "initial latents");
  if (expected_mode != pipeline::ImageMode::image_to_image) {
    QVERIFY2(torch::equal(out.mask, output_of(golden, "mask_condition")), "mask");
    QVERIFY2(torch::equal(out.mask_latent, output_of(golden, "mask_latent")), "latent mask");
    QVERIFY2(torch::equal(out.masked_image, output_of(golden, "masked_image")), "masked picture");
    compare(out.masked_image_latents, output_of(golden, "masked_image_latents"), encode_atol,
            "masked picture latents");
  }

  // The schedule.
  const auto timesteps = output_of(golden, "timesteps").to(torch::kFloat64);
  QCOMPARE(static_cast<int64_t>(out.timesteps.size()), timesteps.numel());
  for (int64_t i = 0; i < timesteps.numel(); ++i)
    QCOMPARE(static_cast<float>(out.timesteps[i]), static_cast<float>(timesteps[i].item<double>()));
  const QJsonObject schedule = golden.value("strength_schedule").toObject();
  QCOMPARE(out.begin_index, schedule.value("t_start").toInt() * schedule.value("scheduler_order").toInt());

  // Every step, the final latents and the picture.
  const auto expected_trajectory = output_of(golden, "latents_trajectory");
  QCOMPARE(static_cast<int64_t>(trajectory.size()) + 1, expected_trajectory.size(0));
  for (size_t i = 0; i < trajectory.size(); ++i)
    compare(trajectory[i], expected_trajectory[static_cast<int64_t>(i) + 1], latents_atol,
            qPrintable(QString("latents after step %1").arg(i + 1)));
  compare(out.latents, output_of(golden, "latents_final"), latents_atol, "final latents");

  const auto decoded = model.vae->decode((out.latents / model.vae->scaling_factor()).to(model.dtype));
  compare(image::decoded_to_unit_nhwc(decoded), output_of(golden, "image_float"),
          tol.value("image_float_atol").toDouble(), "image (float)");
  const auto expected = output_of(golden, "image_uint8").to(torch::kInt32);
  const auto diff = (out.images.to(torch::kInt32) - expected).abs();
  QCOMPARE(diff.sizes(), expected.sizes());
  QVERIFY2(diff.max().item<int>() <= tol.value("uint8_max_abs_diff").toInt(1),
           qPrintable(QString("8-bit image off by up to %1").arg(diff.max().item<int>())));
}

void TestImageToImage::strengthSchedule_data() {
  QTest::addColumn<QString>("sampler");
  QTest::addColumn<int>("steps");
  QTest::addColumn<double>("strength");
  QTest::addColumn<int>("expectedBegin");
  // init = min(int(steps·strength), steps) in double: 50·0.58 = 28.999… → 28.
  QTest::newRow("euler 50 x 0.58") << "euler" << 50 << 0.58 << 22;
  QTest::newRow("ddim 10 x 0.3") << "ddim" << 10 << 0.3 << 7;
  QTest::newRow("lms 12 x 0.6") << "lms" << 12 << 0.6 << 5;
  QTest::newRow("dpmpp_2m 10 x 1.0") << "dpmpp_2m" << 10 << 1.0 << 0;
  QTest::newRow("heun 10 x 0.5 (order 2)") << "heun" << 10 << 0.5 << 10;
  QTest::newRow("kdpm2 10 x 0.5 (order 2)") << "kdpm2" << 10 << 0.5 << 10;
  QTest::newRow("pndm 10 x 0.5") << "pndm" << 10 << 0.5 << 5;
  QTest::newRow("unipc 10 x 0.0") << "unipc" << 10 << 0.0 << 10;
}

void TestImageToImage::strengthSchedule() {
  QFETCH(QString, sampler);
  QFETCH(int, steps);
  QFETCH(double, strength);
  QFETCH(int, expectedBegin);
  auto& model = test::golden_model("tiny-sd");
  auto p = pipeline::ImageToImageParams{};
  p.prompts = {"x"};
  p.sampler = sampler.toStdString();
  p.steps = steps;
  p.width = p.height = 64;
  auto scheduler = pipeline::make_params_scheduler(model, p);
  QCOMPARE(scheduler->begin_index_for_strength(strength), expectedBegin);
  const int run = pipeline::denoising_steps(steps, strength);
  QCOMPARE(std::min((steps - run) * scheduler->order(), scheduler->num_calls()), expectedBegin);
}

void TestImageToImage::strengthZeroIsVaeRoundTrip() {
  auto& model = test::golden_model("tiny-sd");
  auto p = params_of(test::golden_img2img_case("img2img_euler_s0.3"));
  p.strength = 0.0;
  int calls = 0;
  const auto out = pipeline::image_to_image(model, p, [&](const pipeline::StepState&) { ++calls; });
  QCOMPARE(calls, 0);
  QVERIFY(out.timesteps.empty());
  QVERIFY(torch::equal(out.latents, out.image_latents));
  QVERIFY(torch::equal(out.images, pipeline::decode_latents(model, out.image_latents)));
  // The same latent sample as the golden run (first draw of the same seed).
  compare(out.image_latents, output_of(test::golden_img2img_case("img2img_euler_s0.3"), "image_latents"), 1e-4,
          "image latents");
}

void TestImageToImage::strengthOneRunsTheWholeSchedule() {
  // At strength 1 image to image runs every step of text to image's schedule; like
  // diffusers it still adds the picture's latents to the noise (so the images differ).
  auto& model = test::golden_model("tiny-sd");
  auto p = params_of(test::golden_img2img_case("img2img_euler_s1.0"));
  const auto out = pipeline::image_to_image(model, p);
  pipeline::TextToImageParams t = p;
  const auto text = pipeline::text_to_image(model, t);
  QCOMPARE(out.timesteps, text.timesteps);
  QCOMPARE(out.begin_index, 0);
  // The initial latents are picture + σ_max · noise, not noise alone.
  auto scheduler = pipeline::make_params_scheduler(model, p);
  compare(out.latents_init, out.image_latents + out.noise * scheduler->init_noise_sigma(), 1e-5, "x + σ·noise");
}

void TestImageToImage::observerAndCancel() {
  auto& model = test::golden_model("tiny-sd");
  auto p = params_of(test::golden_img2img_case("img2img_euler_s0.75"));
  p.sampler = "heun";  // order 2: 19 calls for 10 steps, this strength starts at call 6
  std::vector<int> seen;
  int total = 0;
  const auto out = pipeline::image_to_image(model, p, [&](const pipeline::StepState& s) {
    seen.push_back(s.index);
    total = s.total;
    QVERIFY(torch::isfinite(s.denoised).all().item<bool>());
  });
  QCOMPARE(out.begin_index, 6);
  QCOMPARE(total, 19 - 6);
  QCOMPARE(static_cast<int>(seen.size()), total);
  for (int i = 0; i < total; ++i) QCOMPARE(seen[static_cast<size_t>(i)], i);

  std::atomic<bool> cancel{false};
  int steps_run = 0;
  bool cancelled = false;
  try {
    pipeline::image_to_image(model, p, [&](const pipeline::StepState& s) {
      steps_run = s.index + 1;
      if (s.index == 2) cancel = true;
    }, &cancel);
  } catch (const Cancelled&) {
    cancelled = true;
  }
  QVERIFY(cancelled);
  QCOMPARE(steps_run, 3);
}

void TestImageToImage::hardMaskKeepsPixelsOutside_data() {
  QTest::addColumn<QString>("model");
  QTest::addColumn<bool>("fullRes");
  QTest::newRow("blend, whole picture") << "tiny-sd" << false;
  QTest::newRow("blend, masked area at full resolution") << "tiny-sd" << true;
  QTest::newRow("inpainting model, whole picture") << "tiny-sd-inpaint" << false;
  QTest::newRow("inpainting model, masked area at full resolution") << "tiny-sd-inpaint" << true;
  QTest::newRow("SD 2.x v-prediction, whole picture") << "sd2/tiny-sd2" << false;
  QTest::newRow("SD 2.x v-prediction, masked area at full resolution") << "sd2/tiny-sd2" << true;
}

void TestImageToImage::hardMaskKeepsPixelsOutside() {
  QFETCH(QString, model);
  QFETCH(bool, fullRes);
  QTemporaryDir dir;
  cv::Mat picture(96, 128, CV_8UC3);
  cv::randu(picture, 0, 256);
  cv::Mat mask(96, 128, CV_8UC1, cv::Scalar(0));
  cv::circle(mask, {70, 40}, 12, cv::Scalar(255), -1);
  auto r = small_request();
  r.init.path = temp_png(dir, "picture.png", picture);
  r.mask.path = temp_png(dir, "mask.png", mask);
  r.mask.blur = 0;
  r.init.strength = 0.9;
  r.mask.only_masked = fullRes;
  r.mask.only_masked_padding = 8;
  if (!fullRes) {
    r.size.width = 128;
    r.size.height = 96;
  }
  const auto out = pipeline::run_image_request(test::golden_model(model), r);
  QCOMPARE(out.images.size(), std::size_t(1));
  const cv::Mat result = image::image_to_mat(out.images[0]);
  QCOMPARE(result.size(), picture.size());
  cv::Mat diff;
  cv::absdiff(result, picture, diff);
  cv::Mat outside = diff.clone();
  outside.setTo(0, mask);
  QCOMPARE(cv::countNonZero(outside.reshape(1)), 0);
  cv::Mat inside = diff.clone();
  inside.setTo(0, mask == 0);
  QVERIFY(cv::countNonZero(inside.reshape(1)) > 100);  // the masked area was repainted
  QCOMPARE(out.mask_hash, image::pixel_hash(mask));
  QCOMPARE(out.init_image_hash, image::pixel_hash(picture));
}

void TestImageToImage::outpaintingGrowsTheCanvas() {
  QTemporaryDir dir;
  cv::Mat picture(48, 48, CV_8UC3);
  cv::randu(picture, 0, 256);
  auto r = small_request();
  r.init.path = temp_png(dir, "picture.png", picture);
  r.outpaint.left = 16;
  r.outpaint.bottom = 16;
  r.mask.blur = 0;
  r.init.strength = 1.0;
  const auto out = pipeline::run_image_request(test::golden_model("tiny-sd-inpaint"), r);
  QVERIFY(out.mode == pipeline::ImageMode::inpaint_model);
  const cv::Mat result = image::image_to_mat(out.images[0]);
  QCOMPARE(result.size(), cv::Size(64, 64));
  // The old picture is kept where it was put; the new strip was painted.
  QCOMPARE(cv::norm(result(cv::Rect(16, 0, 48, 48)), picture, cv::NORM_INF), 0.0);
  cv::Mat replicated;
  cv::copyMakeBorder(picture, replicated, 0, 16, 16, 0, cv::BORDER_REPLICATE);
  QVERIFY(cv::norm(result(cv::Rect(0, 0, 16, 64)), replicated(cv::Rect(0, 0, 16, 64)), cv::NORM_INF) > 0);
}

void TestImageToImage::inpaintingModelWithoutPicture() {
  // An inpainting model asked for text to image: a blank canvas, all repainted.
  pipeline::Engine engine;
  latent::api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd-inpaint").toStdString();
  engine.load(options);
  auto r = small_request();
  int steps = 0;
  const auto result = engine.generate(r, [&](const latent::api::StepProgress&) { ++steps; });
  QCOMPARE(steps, 4);
  QCOMPARE(result.images.size(), std::size_t(1));
  QCOMPARE(result.images[0].width, 64);
  QVERIFY(result.init_image_hash.empty());
}

void TestImageToImage::engineRecordsThePicture() {
  QTemporaryDir dir;
  const cv::Mat picture = image::load_image_rgb(input_file("inputs/image_b_h60_w70.png").toStdString());
  pipeline::Engine engine;
  latent::api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd").toStdString();
  engine.load(options);
  auto r = small_request();
  r.init.pixels = std::make_shared<latent::api::Image>(image::mat_to_image(picture));
  r.size.width = 64;
  r.size.height = 56;
  r.init.strength = 0.5;
  r.init.resize_mode = "crop";
  r.size.batch_size = 2;
  int steps = 0;
  const auto result = engine.generate(r, [&](const latent::api::StepProgress& p) {
    ++steps;
    QCOMPARE(p.total_steps, 2);
  });
  QCOMPARE(steps, 2);  // int(4 · 0.5)
  QCOMPARE(result.images.size(), std::size_t(2));
  QCOMPARE(result.images[0].width, 64);
  QCOMPARE(result.images[0].height, 56);
  QCOMPARE(result.init_image_hash, image::pixel_hash(picture));

  // The metadata carries the picture's hash and the strength, both ways.
  const std::string text =
      image::format_parameters(result.request, result.seeds[0], image::parameters_extras(result));
  QVERIFY2(QString::fromStdString(text).contains("Denoising strength: 0.5"), text.c_str());
  QVERIFY2(QString::fromStdString(text).contains(QString::fromStdString(result.init_image_hash)), text.c_str());
  const api::GenerationRequest no_base;
  const auto back = image::parse_parameters(text).to_result(no_base);
  QCOMPARE(back.request.init.strength, 0.5);
  QCOMPARE(back.init_image_hash, result.init_image_hash);
  QCOMPARE(back.request.init.resize_mode, std::string("crop"));
  const image::ImageSettings settings = image::image_settings(result, 0, {});
  image::ImageSettings read;
  QVERIFY(image::settings_from_json(image::settings_to_json(settings), &read));
  QCOMPARE(read.request.init.strength, 0.5);
  QCOMPARE(read.init_image_hash, result.init_image_hash);
  QCOMPARE(read.request.init.resize_mode, std::string("crop"));
}

void TestImageToImage::badInputs_data() {
  QTest::addColumn<QString>("field");
  QTest::addColumn<QString>("message");
  QTest::newRow("missing picture") << "missing" << "does not exist";
  QTest::newRow("not a picture") << "text" << "not an image";
  QTest::newRow("corrupt picture") << "corrupt" << "could not be";
  QTest::newRow("strength below 0") << "strength-" << "strength -0.1";
  QTest::newRow("strength above 1") << "strength+" << "strength 1.5";
  QTest::newRow("strength NaN") << "strength?" << "strength";
  QTest::newRow("empty mask") << "emptymask" << "the mask is empty";
  QTest::newRow("mask without a picture") << "maskonly" << "needs a starting picture";
  QTest::newRow("unknown resize mode") << "resize" << "unknown resize mode";
  QTest::newRow("negative blur") << "blur" << "mask blur -2";
  QTest::newRow("negative outpainting") << "outpaint" << "outpainting by -8";
}

void TestImageToImage::badInputs() {
  QFETCH(QString, field);
  QFETCH(QString, message);
  QTemporaryDir dir;
  cv::Mat picture(64, 64, CV_8UC3, cv::Scalar(10, 20, 30));
  pipeline::Engine engine;
  latent::api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd").toStdString();
  engine.load(options);
  auto r = small_request();
  r.init.path = temp_png(dir, "picture.png", picture);
  if (field == "missing") r.init.path = dir.filePath("absent.png").toStdString();
  if (field == "text" || field == "corrupt") {
    QFile file(dir.filePath(field == "text" ? "notes.txt" : "broken.png"));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(field == "text" ? QByteArray("hello") : QByteArray("\x89PNG\r\n\x1a\n", 8) + QByteArray(100, 'z'));
    file.close();
    r.init.path = file.fileName().toStdString();
  }
  if (field == "strength-") r.init.strength = -0.1;
  if (field == "strength+") r.init.strength = 1.5;
  if (field == "strength?") r.init.strength = std::nan("");
  if (field == "emptymask") r.mask.path = temp_png(dir, "mask.png", cv::Mat(64, 64, CV_8UC1, cv::Scalar(127)));
  if (field == "maskonly") {
    r.init.path.clear();
    r.mask.path = temp_png(dir, "mask.png", cv::Mat(64, 64, CV_8UC1, cv::Scalar(255)));
  }
  if (field == "resize") r.init.resize_mode = "stretch";
  if (field == "blur") {
    r.mask.path = temp_png(dir, "mask.png", cv::Mat(64, 64, CV_8UC1, cv::Scalar(255)));
    r.mask.blur = -2;
  }
  if (field == "outpaint") r.outpaint.right = -8;
  int calls = 0;
  const QString error = error_of([&] { engine.generate(r, [&](const latent::api::StepProgress&) { ++calls; }); });
  QVERIFY2(error.contains(message), qPrintable("got: " + error));
  QCOMPARE(calls, 0);
}

void TestImageToImage::maskOfAnotherSizeIsResized() {
  QTemporaryDir dir;
  pipeline::Engine engine;
  latent::api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd").toStdString();
  engine.load(options);
  auto r = small_request();
  r.init.path = temp_png(dir, "picture.png", cv::Mat(64, 64, CV_8UC3, cv::Scalar(90, 90, 90)));
  cv::Mat mask(32, 48, CV_8UC1, cv::Scalar(0));
  mask(cv::Rect(10, 10, 20, 10)).setTo(255);
  r.mask.path = temp_png(dir, "mask.png", mask);
  const auto result = engine.generate(r);
  QCOMPARE(result.images.size(), std::size_t(1));
  QCOMPARE(result.warnings.size(), std::size_t(1));
  QVERIFY2(QString::fromStdString(result.warnings[0]).contains("48x32"), result.warnings[0].c_str());
  QVERIFY(!result.mask_hash.empty());
}

QTEST_GUILESS_MAIN(TestImageToImage)
#include "tst_image_to_image.moc"
