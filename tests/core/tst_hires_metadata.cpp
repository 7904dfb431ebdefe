// The hires fix in the metadata: the web UI's "parameters" fields written and read back
// (so a web-UI hires PNG's settings restore), and our JSON's "hires" group.
#include <QtTest/QtTest>

#include "core/image/parameters_text.h"
#include "core/image/settings_json.h"

using latent::api::GenerationRequest;
namespace img = latent::image;

namespace {

GenerationRequest hires_request() {
  GenerationRequest r;
  r.prompt = "a cabin in the snow";
  r.negative_prompt = "blurry";
  r.sampling.steps = 25;
  r.sampling.sampler = "euler_a";
  r.sampling.seed = 42;
  r.second_pass.enabled = true;
  r.second_pass.scale = 2;
  r.second_pass.upscaler = "latent-bicubic-antialiased";
  r.second_pass.steps = 13;
  r.second_pass.denoising_strength = 0.55;
  r.second_pass.sampler = "dpmpp_2m_karras";
  r.second_pass.prompt = "a cabin in the snow, sharp, detailed";
  return r;
}

// A default request to read texts over.
const GenerationRequest& no_request() {
  static const GenerationRequest request;
  return request;
}

}  // namespace

class TestHiresMetadata : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void writesTheWebUiFields();
  void readsWhatItWrites();
  void readsWebUiText_data();
  void readsWebUiText();
  void textWithoutHiresTurnsItOff();
  void keepsTheBaseUpscalerFile();
  void settingsJsonRoundTrips();
};

void TestHiresMetadata::writesTheWebUiFields() {
  const std::string text = img::format_parameters(hires_request(), 42, {});
  QVERIFY2(text.find("Denoising strength: 0.55, Hires upscale: 2, Hires steps: 13, "
                     "Hires upscaler: Latent (bicubic antialiased), Hires sampler: DPM++ 2M, "
                     "Hires schedule type: Karras, Hires prompt: \"a cabin in the snow, sharp, detailed\"") !=
               std::string::npos,
           text.c_str());
  QVERIFY(text.find("Hires negative prompt") == std::string::npos);  // the same as the first pass's
  auto sized = hires_request();
  sized.second_pass.width = 1024;
  sized.second_pass.height = 0;
  sized.second_pass.steps = 0;
  sized.second_pass.sampler = "euler_a";
  sized.second_pass.upscaler = "lanczos";
  const std::string resized = img::format_parameters(sized, 42, {});
  QVERIFY2(resized.find("Hires resize: 1024x0, Hires upscaler: Lanczos") != std::string::npos, resized.c_str());
  QVERIFY(resized.find("Hires upscale:") == std::string::npos);
  QVERIFY(resized.find("Hires steps") == std::string::npos);
  QVERIFY(resized.find("Hires sampler") == std::string::npos);
}

void TestHiresMetadata::readsWhatItWrites() {
  const auto request = hires_request();
  const auto back = img::parse_parameters(img::format_parameters(request, 42, {})).to_request(no_request());
  const auto& pass = back.second_pass;
  QVERIFY(pass.enabled);
  QCOMPARE(pass.scale, 2.0);
  QCOMPARE(pass.width, 0);
  QCOMPARE(pass.upscaler, std::string("latent-bicubic-antialiased"));
  QCOMPARE(pass.steps, 13);
  QCOMPARE(pass.denoising_strength, 0.55);
  QCOMPARE(pass.sampler, std::string("dpmpp_2m_karras"));
  QCOMPARE(pass.prompt, request.second_pass.prompt);
  QCOMPARE(pass.negative_prompt, std::string());
}

void TestHiresMetadata::readsWebUiText_data() {
  QTest::addColumn<QString>("text");
  QTest::addColumn<double>("scale");
  QTest::addColumn<int>("width");
  QTest::addColumn<int>("height");
  QTest::addColumn<QString>("upscaler");
  QTest::addColumn<int>("steps");
  QTest::addColumn<double>("strength");
  QTest::newRow("latent, web UI 1.9")
      << "a cat\nNegative prompt: ugly\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, "
         "Seed: 1234, Size: 512x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: "
         "0.7, Hires upscale: 2, Hires upscaler: Latent, Version: v1.9.4"
      << 2.0 << 0 << 0 << "latent" << 0 << 0.7;
  QTest::newRow("nearest-exact with steps")
      << "a cat\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Denoising strength: 0.45, "
         "Hires upscale: 1.5, Hires steps: 15, Hires upscaler: Latent (nearest-exact)"
      << 1.5 << 0 << 0 << "latent-nearest-exact" << 15 << 0.45;
  QTest::newRow("resize with a network")
      << "a cat\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Denoising strength: 0.3, "
         "Hires resize: 1024x1536, Hires upscaler: R-ESRGAN 4x+"
      << 2.0 << 1024 << 1536 << "R-ESRGAN 4x+" << 0 << 0.3;
}

void TestHiresMetadata::readsWebUiText() {
  QFETCH(QString, text);
  QFETCH(double, scale);
  QFETCH(int, width);
  QFETCH(int, height);
  QFETCH(QString, upscaler);
  QFETCH(int, steps);
  QFETCH(double, strength);
  const auto r = img::parse_parameters(text.toStdString()).to_request(no_request());
  QVERIFY(r.second_pass.enabled);
  QCOMPARE(r.second_pass.scale, scale);
  QCOMPARE(r.second_pass.width, width);
  QCOMPARE(r.second_pass.height, height);
  QCOMPARE(QString::fromStdString(r.second_pass.upscaler), upscaler);
  QCOMPARE(r.second_pass.steps, steps);
  QCOMPARE(r.second_pass.denoising_strength, strength);
  QVERIFY(r.second_pass.sampler.empty());
  QVERIFY(r.second_pass.prompt.empty());
}

void TestHiresMetadata::textWithoutHiresTurnsItOff() {
  const auto r = img::parse_parameters("a dog\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 3, Size: 512x512")
                     .to_request(hires_request());
  QVERIFY(!r.second_pass.enabled);
}

void TestHiresMetadata::keepsTheBaseUpscalerFile() {
  // The text names a network by its file name only: the base's file stays when it is that one.
  auto base = hires_request();
  base.second_pass.upscaler = "/models/upscalers/4x-UltraSharp.safetensors";
  const std::string text = img::format_parameters(base, 42, {});
  QVERIFY(text.find("Hires upscaler: 4x-UltraSharp") != std::string::npos);
  QCOMPARE(img::parse_parameters(text).to_request(base).second_pass.upscaler, base.second_pass.upscaler);
}

void TestHiresMetadata::settingsJsonRoundTrips() {
  img::ImageSettings s;
  s.request = hires_request();
  s.request.second_pass.width = 768;
  s.request.second_pass.negative_prompt = "lowres";
  img::ImageSettings back;
  QVERIFY(img::settings_from_json(img::settings_to_json(s), &back));
  const auto& a = s.request.second_pass;
  const auto& b = back.request.second_pass;
  QVERIFY(b.enabled);
  QCOMPARE(b.scale, a.scale);
  QCOMPARE(b.width, a.width);
  QCOMPARE(b.height, a.height);
  QCOMPARE(b.upscaler, a.upscaler);
  QCOMPARE(b.steps, a.steps);
  QCOMPARE(b.denoising_strength, a.denoising_strength);
  QCOMPARE(b.sampler, a.sampler);
  QCOMPARE(b.prompt, a.prompt);
  QCOMPARE(b.negative_prompt, a.negative_prompt);
  img::ImageSettings plain;
  plain.request.prompt = "x";
  QVERIFY(img::settings_from_json(img::settings_to_json(plain), &back));
  QVERIFY(!back.request.second_pass.enabled);
}

QTEST_GUILESS_MAIN(TestHiresMetadata)
#include "tst_hires_metadata.moc"
