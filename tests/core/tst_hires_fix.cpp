// The hires fix against the golden two-pass runs of tests/data/hires (diffusers' pipelines
// composed as its PORTING-NOTES.md defines): the latent interpolation modes alone, then
// every intermediate of both passes.
#include <QtTest/QtTest>

#include <QJsonArray>

#include "core/api/upscaler_names.h"
#include "core/pipeline/hires_fix.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/latent_upscale.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const test::GoldenSet& hires_set() {
  static const test::GoldenSet set("hires");
  return set;
}

torch::Tensor output_of(const QJsonObject& golden, const QString& name) {
  const QJsonObject entry = golden.value("outputs").toObject().value(name).toObject();
  if (entry.isEmpty()) throw std::runtime_error("no output " + name.toStdString());
  return hires_set().tensor(entry.value("file").toString());
}

pipeline::HiresParams params_of(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  pipeline::HiresParams p;
  p.prompts = test::json_strings(in.value("prompt"));
  if (!in.value("negative_prompt").isNull()) p.negative_prompts = test::json_strings(in.value("negative_prompt"));
  p.seed = static_cast<uint64_t>(in.value("seed").toDouble());
  p.guidance_scale = in.value("guidance_scale").toDouble();
  p.width = in.value("width").toInt();
  p.height = in.value("height").toInt();
  p.steps = in.value("first_pass_steps").toInt();
  p.sampler = golden.value("scheduler").toString().toStdString();
  p.pass.scale = in.value("hr_scale").toDouble();
  p.pass.upscaler = api::upscaler_from_metadata(in.value("hr_upscaler").toString().toStdString());
  p.pass.steps = in.value("second_pass_steps").toInt();
  p.pass.denoising_strength = in.value("denoising_strength").toDouble();
  return p;
}

void compare(const torch::Tensor& actual, const torch::Tensor& expected, double atol, const QString& what) {
  QString report;
  if (!test::all_close(actual.to(torch::kFloat32), expected.to(torch::kFloat32), {atol, 0}, &report))
    QFAIL(qPrintable(what + ": " + report));
}

std::vector<double> doubles_of(const torch::Tensor& t) {
  const auto d = t.to(torch::kFloat64).contiguous();
  return {d.data_ptr<double>(), d.data_ptr<double>() + d.numel()};
}

// The golden output key of each built-in latent upscaler.
QString key_of(const api::BuiltInUpscaler& upscaler) {
  QString key = QString::fromStdString(upscaler.latent_mode);
  return upscaler.antialias ? key + "_aa" : key;
}

}  // namespace

class TestHiresFix : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void upscalerNames();
  void latentUpscaleModes();
  void targetSizes();
  void matchesDiffusers_data();
  void matchesDiffusers();
  void secondPassFromStoredPicture_data();
  void secondPassFromStoredPicture();
  void observerSpansBothPasses();
  void cancelStopsTheSecondPass();
  void badParameters();
  void engineRunsBothPasses_data();
  void engineRunsBothPasses();
  void engineRefusals();
};

void TestHiresFix::upscalerNames() {
  // Every web UI name the golden index lists maps to the same interpolation here.
  const QJsonObject modes = hires_set().index().value("a1111_latent_upscale_modes").toObject();
  QCOMPARE(modes.size(), 6);
  for (auto it = modes.begin(); it != modes.end(); ++it) {
    const auto* upscaler = api::find_built_in_upscaler(it.key().toStdString());
    QVERIFY2(upscaler, qPrintable(it.key()));
    QCOMPARE(QString::fromStdString(upscaler->latent_mode), it.value().toObject().value("mode").toString());
    QCOMPARE(upscaler->antialias, it.value().toObject().value("antialias").toBool());
    QCOMPARE(QString::fromStdString(upscaler->webui_name), it.key());
  }
  QCOMPARE(api::upscaler_metadata_name("latent-bicubic-antialiased"), std::string("Latent (bicubic antialiased)"));
  QCOMPARE(api::upscaler_from_metadata("Latent (nearest-exact)"), std::string("latent-nearest-exact"));
  QCOMPARE(api::upscaler_metadata_name("models/upscalers/4x-UltraSharp.safetensors"), std::string("4x-UltraSharp"));
  QCOMPARE(api::upscaler_from_metadata("R-ESRGAN 4x+"), std::string("R-ESRGAN 4x+"));
  QVERIFY(!api::find_built_in_upscaler("lanczos")->is_latent());
}

void TestHiresFix::latentUpscaleModes() {
  const QJsonObject golden = hires_set().case_of("latent_upscale_modes");
  const double atol = golden.value("tolerance").toObject().value("atol").toDouble();
  int compared = 0;
  for (const QJsonValue& value : golden.value("items").toArray()) {
    const QJsonObject item = value.toObject();
    const auto input = hires_set().tensor(item.value("input").toObject().value("file").toString());
    const QJsonArray size = item.value("output_size_hw").toArray();
    for (const auto& upscaler : api::built_in_upscalers()) {
      if (!upscaler.is_latent()) continue;
      const QJsonObject expected = item.value("outputs").toObject().value(key_of(upscaler)).toObject();
      QVERIFY2(!expected.isEmpty(), qPrintable(key_of(upscaler)));
      const auto actual = pipeline::upscale_latents(input, upscaler, size[0].toInt(), size[1].toInt());
      compare(actual, hires_set().tensor(expected.value("file").toString()), atol,
              expected.value("file").toString());
      ++compared;
    }
  }
  QCOMPARE(compared, 36);
}

void TestHiresFix::targetSizes() {
  api::SecondPass pass;
  pass.scale = 1.5;
  auto t = pipeline::hires_target(64, 48, pass, 8);
  QCOMPARE(t.width, 96);
  QCOMPARE(t.height, 72);
  QCOMPARE(t.second_width, 96);
  QCOMPARE(t.second_height, 72);
  pass.scale = 1.3;  // int(512 * 1.3) = 665: the latents are 83 cells, the second pass 664
  t = pipeline::hires_target(512, 512, pass, 8);
  QCOMPARE(t.width, 665);
  QCOMPARE(t.second_width, 664);
  // One side given keeps the aspect; both given cover the size and crop the latents.
  pass.width = 1024;
  t = pipeline::hires_target(512, 768, pass, 8);
  QCOMPARE(t.height, 1536);
  pass.height = 1024;
  t = pipeline::hires_target(512, 768, pass, 8);
  QCOMPARE(t.width, 1024);
  QCOMPARE(t.height, 1536);
  QCOMPARE(t.crop_height, 64);
  QCOMPARE(t.crop_width, 0);
  QCOMPARE(t.second_width, 1024);
  QCOMPARE(t.second_height, 1024);
}

void TestHiresFix::matchesDiffusers_data() {
  QTest::addColumn<QString>("id");
  for (const QString& id : hires_set().ids("hires_fix")) QTest::newRow(qPrintable(id)) << id;
}

void TestHiresFix::matchesDiffusers() {
  QFETCH(QString, id);
  const QJsonObject golden = hires_set().case_of(id);
  const QJsonObject tol = golden.value("tolerance").toObject();
  auto& model = test::golden_model(golden.value("model").toString());
  const auto params = params_of(golden);
  const auto out = pipeline::hires_fix(model, params);

  QVERIFY(torch::equal(out.first_noise, output_of(golden, "first_init_noise")));
  QCOMPARE(out.first_timesteps, doubles_of(output_of(golden, "first_timesteps")));
  compare(out.first_latents, output_of(golden, "first_latents_final"), tol.value("first_pass_latents_atol").toDouble(),
          "first pass latents");
  const bool picture_path = golden.value("composition").toObject().value("upscale").toObject().value("type") == "image";
  if (picture_path) {
    // Exact, except a value that lands within the first pass's rounding of .5 may flip.
    compare(out.first_images, output_of(golden, "first_image_uint8").view(out.first_images.sizes()), 1,
            "first pass picture");
    compare(out.upscaled_images, output_of(golden, "upscaled_image_uint8").view(out.upscaled_images.sizes()), 1,
            "upscaled picture");
  }
  compare(out.image_latents, output_of(golden, "second_image_latents"),
          picture_path ? tol.value("latents_atol").toDouble() : tol.value("upscaled_latents_atol").toDouble(),
          "second pass image latents");
  QVERIFY(torch::equal(out.noise, output_of(golden, "second_noise")));
  QCOMPARE(out.second_timesteps, doubles_of(output_of(golden, "second_timesteps")));
  compare(out.latents_init, output_of(golden, "second_latents_init"), tol.value("latents_atol").toDouble(),
          "second pass initial latents");
  compare(out.latents, output_of(golden, "second_latents_final"), tol.value("latents_atol").toDouble(),
          "final latents");
  const auto image = output_of(golden, "image_uint8").view(out.images.sizes());
  compare(out.images, image, tol.value("uint8_max_abs_diff").toDouble(), "picture");
}

void TestHiresFix::secondPassFromStoredPicture_data() {
  QTest::addColumn<QString>("id");
  for (const QString& id : hires_set().ids("hires_fix"))
    if (hires_set().case_of(id).value("tolerance").toObject().contains("second_pass_only_latents_atol"))
      QTest::newRow(qPrintable(id)) << id;
}

void TestHiresFix::secondPassFromStoredPicture() {
  // The picture path's second pass alone, from the stored upscaled picture: free of the
  // first pass's uint8 rounding, so held to the tight tolerance.
  QFETCH(QString, id);
  const QJsonObject golden = hires_set().case_of(id);
  auto& model = test::golden_model(golden.value("model").toString());
  const auto picture = output_of(golden, "upscaled_image_uint8").contiguous();
  const cv::Mat upscaled(static_cast<int>(picture.size(-3)), static_cast<int>(picture.size(-2)), CV_8UC3,
                         picture.data_ptr());
  const auto out = pipeline::hires_second_pass_from_picture(model, params_of(golden), upscaled);
  const double atol = golden.value("tolerance").toObject().value("second_pass_only_latents_atol").toDouble();
  compare(out.image_latents, output_of(golden, "second_image_latents"), atol, "image latents");
  QVERIFY(torch::equal(out.noise, output_of(golden, "second_noise")));
  compare(out.latents, output_of(golden, "second_latents_final"), atol, "final latents");
}

void TestHiresFix::observerSpansBothPasses() {
  auto params = params_of(hires_set().case_of("hires_latent_bilinear_x2_euler_s0.7"));
  auto& model = test::golden_model("tiny-sd");
  params.steps = 3;
  params.pass.steps = 4;
  params.pass.denoising_strength = 0.5;  // 2 of 4 steps
  params.pass.sampler = "dpmpp_2m";
  std::vector<std::pair<int, int>> seen;
  std::vector<int64_t> sides;
  pipeline::hires_fix(model, params, [&](const pipeline::StepState& s) {
    seen.emplace_back(s.index, s.total);
    sides.push_back(s.latents.size(3));
  });
  const std::vector<std::pair<int, int>> expected = {{0, 5}, {1, 5}, {2, 5}, {3, 5}, {4, 5}};
  QCOMPARE(seen, expected);
  QCOMPARE(sides, (std::vector<int64_t>{8, 8, 8, 16, 16}));
}

void TestHiresFix::cancelStopsTheSecondPass() {
  auto params = params_of(hires_set().case_of("hires_latent_bilinear_x2_euler_s0.7"));
  auto& model = test::golden_model("tiny-sd");
  params.steps = 2;
  params.pass.steps = 2;
  params.pass.denoising_strength = 1.0;
  std::atomic<bool> cancel{false};
  int calls = 0;
  QVERIFY_THROWS_EXCEPTION(Cancelled, pipeline::hires_fix(
                                          model, params,
                                          [&](const pipeline::StepState& s) {
                                            ++calls;
                                            if (s.index == 2) cancel = true;  // the second pass's first step
                                          },
                                          &cancel));
  QCOMPARE(calls, 3);
}

void TestHiresFix::badParameters() {
  auto params = params_of(hires_set().case_of("hires_latent_bilinear_x2_euler_s0.7"));
  auto& model = test::golden_model("tiny-sd");
  auto bad = params;
  bad.pass.upscaler = "no-such-upscaler";
  QVERIFY_THROWS_EXCEPTION(Error, pipeline::hires_fix(model, bad));
  bad = params;
  bad.pass.denoising_strength = 1.5;
  QVERIFY_THROWS_EXCEPTION(Error, pipeline::hires_fix(model, bad));
  bad = params;
  bad.pass.sampler = "no-such-sampler";
  QVERIFY_THROWS_EXCEPTION(std::exception, pipeline::hires_fix(model, bad));
}

namespace {

// The request the web UI's parameters of a golden case would make.
api::GenerationRequest request_of(const QJsonObject& golden) {
  const auto p = params_of(golden);
  api::GenerationRequest r;
  r.prompt = p.prompts.front();
  r.size.width = p.width;
  r.size.height = p.height;
  r.sampling.steps = p.steps;
  r.sampling.sampler = p.sampler;
  r.sampling.seed = p.seed;
  r.sampling.guidance_scale = p.guidance_scale;
  r.preview.approximate = false;
  r.preview.vae_every = 0;
  r.second_pass = p.pass;
  r.second_pass.enabled = true;
  return r;
}

pipeline::Engine& tiny_engine() {
  static pipeline::Engine engine;
  if (!engine.is_loaded()) {
    api::LoadOptions options;
    options.model_path = test::data_path("tiny-sd").toStdString();
    options.device = test::test_device();
    engine.load(options);
  }
  return engine;
}

}  // namespace

void TestHiresFix::engineRunsBothPasses_data() {
  QTest::addColumn<QString>("id");
  QTest::newRow("latent") << "hires_latent_bicubic_aa_x2_euler_a_s0.7";
  QTest::newRow("lanczos") << "hires_image_lanczos_x1.5_dpmpp_2m_s0.7_h48_w64";
}

void TestHiresFix::engineRunsBothPasses() {
  // Through the engine as the GUI and the command line call it: the golden picture, with
  // progress counted over both passes.
  QFETCH(QString, id);
  const QJsonObject golden = hires_set().case_of(id);
  std::vector<std::pair<int, int>> progress;
  const auto result = tiny_engine().generate(request_of(golden), [&](const api::StepProgress& s) {
    progress.emplace_back(s.step, s.total_steps);
  });
  QCOMPARE(result.images.size(), size_t(1));
  const auto expected = output_of(golden, "image_uint8");
  const auto& image = result.images.front();
  QCOMPARE(int64_t(image.height), expected.size(-3));
  QCOMPARE(int64_t(image.width), expected.size(-2));
  const auto actual = torch::from_blob(const_cast<uint8_t*>(image.rgb.data()), {image.height, image.width, 3},
                                       torch::kUInt8);
  compare(actual, expected.view(actual.sizes()),
          golden.value("tolerance").toObject().value("uint8_max_abs_diff").toDouble(), "picture");
  const int first = params_of(golden).steps;
  const int second = output_of(golden, "second_timesteps").numel();
  QCOMPARE(int(progress.size()), first + second);
  QCOMPARE(progress.back(), std::make_pair(first + second, first + second));
}

void TestHiresFix::engineRefusals() {
  auto request = request_of(hires_set().case_of("hires_latent_bilinear_x2_euler_s0.7"));
  auto bad = request;
  bad.second_pass.upscaler = test::data_path("no-such-upscaler.safetensors").toStdString();
  QVERIFY_THROWS_EXCEPTION(Error, tiny_engine().generate(bad));
  bad = request;
  bad.second_pass.denoising_strength = -0.1;
  QVERIFY_THROWS_EXCEPTION(Error, tiny_engine().generate(bad));
  bad = request;
  bad.second_pass.scale = 0;
  QVERIFY_THROWS_EXCEPTION(Error, tiny_engine().generate(bad));
  bad = request;
  bad.second_pass.sampler = "no-such-sampler";
  QVERIFY_THROWS_EXCEPTION(std::exception, tiny_engine().generate(bad));
}

QTEST_GUILESS_MAIN(TestHiresFix)
#include "tst_hires_fix.moc"
