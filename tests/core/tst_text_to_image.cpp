#include <QtTest/QtTest>

#include <QJsonArray>

#include "core/pipeline/engine.h"
#include "core/pipeline/decode.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_to_image.h"
#include "core/pipeline/vae_decode.h"
#include "core/util/cancellation.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/image_compare.h"

using namespace latent;
using latent::test::golden_tensor;

class TestTextToImage : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }
  void matchesDiffusers_data();
  void matchesDiffusers();
  void observerSeesEveryStep();
  void cancelStopsWithinAStep();
  void cancelReachesInsideAStep();
  void rejectsBadParameters_data();
  void rejectsBadParameters();
};

void TestTextToImage::matchesDiffusers_data() {
  QTest::addColumn<QString>("id");
  QTest::addColumn<bool>("singleFile");
  QFile file(test::data_path("golden/index.json"));
  QVERIFY(file.open(QIODevice::ReadOnly));
  const QString text = QString::fromUtf8(file.readAll());
  // Every end-to-end text-to-image case, from both file formats.
  static const QRegularExpression ids("\"id\":\\s*\"(e2e_[^\"]+)\"");
  for (auto it = ids.globalMatch(text); it.hasNext();) {
    const QString id = it.next().captured(1);
    QTest::newRow(qPrintable(id + " folder")) << id << false;
    QTest::newRow(qPrintable(id + " single-file")) << id << true;
  }
}

void TestTextToImage::matchesDiffusers() {
  QFETCH(QString, id);
  QFETCH(bool, singleFile);
  const QJsonObject golden = test::golden_case(id);
  const QJsonObject tol = golden.value("tolerance").toObject();
  auto& model = test::golden_model(golden.value("model").toString(), singleFile);
  const auto output = pipeline::text_to_image(model, test::text_to_image_params(golden));

  QVERIFY2(torch::equal(output.init_noise, golden_tensor(id + "/init_noise.npy")),
           "the initial noise differs from torch's CPU generator");
  const auto timesteps = golden_tensor(id + "/timesteps.npy").to(torch::kFloat64);
  QCOMPARE(static_cast<int64_t>(output.timesteps.size()), timesteps.numel());
  for (int64_t i = 0; i < timesteps.numel(); ++i)
    QCOMPARE(static_cast<float>(output.timesteps[i]), static_cast<float>(timesteps[i].item<double>()));
  LATENT_COMPARE_CLOSE(output.prompt_embeds, golden_tensor(id + "/prompt_embeds.npy"),
                       (test::Tolerance{1e-4, 1e-4}));
  LATENT_COMPARE_CLOSE(output.latents, golden_tensor(id + "/latents_final.npy"),
                       (test::Tolerance{tol.value("latents_atol").toDouble(), 0}));

  LATENT_COMPARE_IMAGES(output.images, golden_tensor(id + "/image_uint8.npy"),
                        tol.value("uint8_max_abs_diff").toInt(1));
}

void TestTextToImage::observerSeesEveryStep() {
  auto& model = test::golden_model("tiny-sd");
  pipeline::TextToImageParams p;
  p.prompts = {"a red circle"};
  p.width = p.height = 64;
  p.steps = 6;
  p.sampler = "heun";  // 2N-1 UNet calls
  std::vector<int> seen;
  pipeline::text_to_image(model, p, [&](const pipeline::StepState& s) {
    seen.push_back(s.index);
    QCOMPARE(s.total, 11);
    QVERIFY(torch::isfinite(s.latents).all().item<bool>());
    QVERIFY(torch::isfinite(s.denoised).all().item<bool>());
  });
  QCOMPARE(seen.size(), std::size_t(11));
  for (int i = 0; i < 11; ++i) QCOMPARE(seen[i], i);
}

void TestTextToImage::cancelStopsWithinAStep() {
  auto& model = test::golden_model("tiny-sd");
  pipeline::TextToImageParams p;
  p.prompts = {"a red circle"};
  p.width = p.height = 64;
  p.steps = 20;
  std::atomic<bool> cancel{false};
  int steps_run = 0;
  bool cancelled = false;
  try {
    pipeline::text_to_image(model, p, [&](const pipeline::StepState& s) {
      steps_run = s.index + 1;
      if (s.index == 4) cancel = true;
    }, &cancel);
  } catch (const Cancelled&) {
    cancelled = true;
  }
  QVERIFY(cancelled);
  QCOMPARE(steps_run, 5);
}

// A request's flag, installed for the thread, stops the UNet and the VAE decode (whole or
// in bands) from inside, between their blocks; without it they run to the end.
void TestTextToImage::cancelReachesInsideAStep() {
  auto& model = test::golden_model("tiny-sd");
  torch::InferenceMode guard;
  torch::manual_seed(6);
  const auto latents = torch::randn({1, model.unet->config.in_channels, 8, 8}).to(model.device);
  const auto embeds = torch::randn({1, 77, model.unet->config.cross_attention_dim[0]}).to(model.device);
  const auto t = torch::tensor(500.0);
  const int64_t side = 8 * model.vae->config().downscale_factor();
  std::atomic<bool> cancel{true};
  {
    const CancelScope scope(&cancel);
    QVERIFY_THROWS_EXCEPTION(Cancelled, model.unet->forward(latents, t, embeds));
    QVERIFY_THROWS_EXCEPTION(Cancelled, pipeline::decode_latents(model, latents));
    QVERIFY_THROWS_EXCEPTION(Cancelled, pipeline::vae_decode_in_bands(model.vae, latents, 1 << 16));
  }
  QCOMPARE(model.unet->forward(latents, t, embeds).sizes(), latents.sizes());
  cancel = false;
  const CancelScope scope(&cancel);
  QCOMPARE(pipeline::decode_latents(model, latents).size(2), side);
}

void TestTextToImage::rejectsBadParameters_data() {
  QTest::addColumn<QString>("field");
  QTest::addColumn<double>("value");
  QTest::addColumn<QString>("message");
  QTest::newRow("zero steps") << "steps" << 0.0 << "steps 0";
  QTest::newRow("negative steps") << "steps" << -3.0 << "steps -3";
  QTest::newRow("width 500") << "width" << 500.0 << "width 500";
  QTest::newRow("height 0") << "height" << 0.0 << "height 0";
  QTest::newRow("negative guidance") << "guidance" << -1.0 << "guidance scale";
  QTest::newRow("batch 0") << "batch" << 0.0 << "batch size 0";
  // Counted as the web UI counts it: the tiny encoder has 5 layers, so 6 skips them all.
  QTest::newRow("clip skip past the encoder") << "clip_skip" << 6.0 << "clip skip 6";
  QTest::newRow("clip skip 0") << "clip_skip" << 0.0 << "clip skip 0";
  QTest::newRow("unknown sampler") << "sampler" << 0.0 << "unknown";
}

void TestTextToImage::rejectsBadParameters() {
  QFETCH(QString, field);
  QFETCH(double, value);
  QFETCH(QString, message);
  pipeline::Engine engine;
  latent::api::LoadOptions options;
  options.model_path = test::data_path("tiny-sd").toStdString();
  engine.load(options);
  latent::api::GenerationRequest r;
  r.prompt = "x";
  r.size.width = r.size.height = 64;
  r.sampling.steps = 2;
  const int v = static_cast<int>(value);
  if (field == "steps") r.sampling.steps = v;
  if (field == "width") r.size.width = v;
  if (field == "height") r.size.height = v;
  if (field == "guidance") r.sampling.guidance_scale = value;
  if (field == "batch") r.size.batch_size = v;
  if (field == "clip_skip") r.sampling.clip_skip = v;
  if (field == "sampler") r.sampling.sampler = "no_such_sampler";
  int calls = 0;
  try {
    engine.generate(r, [&](const latent::api::StepProgress&) { ++calls; });
    QFAIL("the request was accepted");
  } catch (const Error& e) {
    QVERIFY2(QString(e.what()).contains(message), e.what());
  }
  QCOMPARE(calls, 0);
}

QTEST_GUILESS_MAIN(TestTextToImage)
#include "tst_text_to_image.moc"
