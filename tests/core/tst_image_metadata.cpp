#include <QtTest/QtTest>

#include <opencv2/imgcodecs.hpp>

#include <random>

#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/image/settings_json.h"
#include "core/util/error.h"

using latent::api::GenerationRequest;
using latent::api::Image;
namespace img = latent::image;

class TestImageMetadata : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void formatsWebUiLayout();
  void parsesWhatItWrites_data();
  void parsesWhatItWrites();
  void parsesOtherProgramsText();
  void pngTextChunksRoundTrip();
  void readsDamagedPngWithoutCrashing();
  void failedWriteLeavesOldFile();
  void settingsJsonRoundTrips();
  void writesSdxlFieldsAsTheWebUi();
  void readsSdxlFieldsBack();
  void settingsJsonCarriesSdxlFields();
  void settingsJsonCarriesTheFewStepFields();
};

static Image checkerboard(int w, int h) {
  Image image{w, h, std::vector<uint8_t>(static_cast<std::size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) image.rgb[(y * w + x) * 3 + c] = ((x + y + c) % 2) ? 200 : 20;
  return image;
}

void TestImageMetadata::formatsWebUiLayout() {
  GenerationRequest r;
  r.prompt = "an astronaut riding a horse";
  r.negative_prompt = "blurry";
  r.sampling.steps = 25;
  r.sampling.sampler = "dpmpp_2m_karras";
  r.sampling.guidance_scale = 7.5;
  r.size.width = 512;
  r.size.height = 768;
  r.sampling.clip_skip = 2;
  img::ParametersExtras extras;
  extras.model_name = "v1-5";
  extras.model_hash = "6ce0161689";
  const std::string text = img::format_parameters(r, 32, extras);
  QCOMPARE(QString::fromStdString(text),
           QString("an astronaut riding a horse\nNegative prompt: blurry\n"
                   "Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 32, "
                   "Size: 512x768, Model hash: 6ce0161689, Model: v1-5, Clip skip: 2, RNG: CPU, "
                   "Version: Latent Studio " LATENT_VERSION));
}

void TestImageMetadata::parsesWhatItWrites_data() {
  QTest::addColumn<QString>("sampler");
  for (const char* s : {"euler", "euler_a", "lms", "lms_karras", "heun", "dpmpp_2m",
                        "dpmpp_2m_karras", "ddim", "pndm", "unipc", "kdpm2_a"})
    QTest::newRow(s) << QString(s);
}

void TestImageMetadata::parsesWhatItWrites() {
  QFETCH(QString, sampler);
  GenerationRequest r;
  r.prompt = "a cat,\nsecond line: with colon";
  r.negative_prompt = "ugly, \"quoted\"";
  r.sampling.sampler = sampler.toStdString();
  r.sampling.steps = 13;
  r.sampling.guidance_scale = 4.5;
  r.size.width = 320;
  r.size.height = 256;
  img::ParametersExtras extras;
  extras.model_name = "my, model";
  const std::string text = img::format_parameters(r, 18446744073709551615ull, extras);
  const auto parsed = img::parse_parameters(text);
  const auto back = parsed.to_request(GenerationRequest{});
  QCOMPARE(QString::fromStdString(back.prompt), QString::fromStdString(r.prompt));
  QCOMPARE(QString::fromStdString(back.negative_prompt), QString::fromStdString(r.negative_prompt));
  QCOMPARE(QString::fromStdString(back.sampling.sampler), sampler);
  QCOMPARE(back.sampling.steps, 13);
  QCOMPARE(back.sampling.guidance_scale, 4.5);
  QCOMPARE(back.sampling.seed, 18446744073709551615ull);
  QCOMPARE(back.size.width, 320);
  QCOMPARE(back.size.height, 256);
  QCOMPARE(QString::fromStdString(parsed.field("Model").value_or("")), QString("my, model"));
}

void TestImageMetadata::parsesOtherProgramsText() {
  const std::string text =
      "masterpiece, (best quality:1.2)\nsecond line\nNegative prompt: lowres\n"
      "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 123, Size: 512x768, "
      "Model hash: abc, Clip skip: 2, Lora hashes: \"foo: 0123456789ab, bar: ba9876543210\"";
  const auto parsed = img::parse_parameters(text);
  QCOMPARE(QString::fromStdString(parsed.prompt), QString("masterpiece, (best quality:1.2)\nsecond line"));
  QCOMPARE(QString::fromStdString(parsed.negative_prompt), QString("lowres"));
  QCOMPARE(QString::fromStdString(parsed.field("Lora hashes").value_or("")),
           QString("foo: 0123456789ab, bar: ba9876543210"));
  const auto r = parsed.to_request(GenerationRequest{});
  QCOMPARE(QString::fromStdString(r.sampling.sampler), QString("dpmpp_2m_karras"));
  QCOMPARE(r.sampling.clip_skip, 2);  // the text's count, copied as it is
  QCOMPARE(r.size.width, 512);
  QCOMPARE(r.size.height, 768);
  // A prompt alone, without a parameter line, stays the prompt.
  QCOMPARE(QString::fromStdString(img::parse_parameters("just a prompt").prompt), QString("just a prompt"));
}

void TestImageMetadata::pngTextChunksRoundTrip() {
  const img::TextChunks texts = {{"parameters", "plain ascii\nSteps: 1"},
                                 {"latentstudio", "{\"prompt\":\"caf\xc3\xa9 \xe7\x8c\xab\"}"}};
  const auto bytes = img::encode_png(checkerboard(16, 8), texts);
  const auto back = img::read_png_text(bytes);
  QCOMPARE(back.size(), std::size_t(2));
  QCOMPARE(QString::fromStdString(back[0].second), QString::fromStdString(texts[0].second));
  QCOMPARE(QString::fromStdString(back[1].second), QString::fromStdString(texts[1].second));
  // The file is still an ordinary PNG.
  QTemporaryDir dir;
  const std::string path = (dir.path() + "/a.png").toStdString();
  img::write_file_atomically(path, bytes);
  const cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  QCOMPARE(image.cols, 16);
  QCOMPARE(image.rows, 8);
  QCOMPARE(img::read_png_text_file(path).size(), std::size_t(2));
}

void TestImageMetadata::readsDamagedPngWithoutCrashing() {
  const auto bytes = img::encode_png(checkerboard(8, 8), {{"parameters", "x"}});
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    auto damaged = bytes;
    damaged.resize(rng() % (bytes.size() + 1));
    for (int flips = rng() % 4; flips > 0 && !damaged.empty(); --flips)
      damaged[rng() % damaged.size()] ^= static_cast<unsigned char>(1 + rng() % 255);
    (void)img::read_png_text(damaged);
  }
  QVERIFY(img::read_png_text({}).empty());
}

void TestImageMetadata::failedWriteLeavesOldFile() {
  QTemporaryDir dir;
  const std::string path = (dir.path() + "/keep.png").toStdString();
  img::write_file_atomically(path, {1, 2, 3});
  QVERIFY_THROWS_EXCEPTION(latent::Error,
                           img::write_file_atomically(dir.path().toStdString() + "/missing/x.png", {1}));
  QFile kept(QString::fromStdString(path));
  QVERIFY(kept.open(QIODevice::ReadOnly));
  QCOMPARE(kept.readAll().size(), 3);
}

void TestImageMetadata::settingsJsonRoundTrips() {
  img::ImageSettings s;
  s.request.prompt = "caf\xc3\xa9 \"quoted\"";
  s.request.negative_prompt = "bad";
  s.request.size.width = 72;
  s.request.size.height = 40;
  s.request.sampling.steps = 7;
  s.request.sampling.guidance_scale = 3.5;
  s.request.sampling.sampler = "heun";
  s.request.sampling.clip_skip = 2;
  s.seed = 18446744073709551615ull;
  s.model_name = "tiny";
  s.dtype = "bf16";
  img::ImageSettings back;
  QVERIFY(img::settings_from_json(img::settings_to_json(s), &back));
  QCOMPARE(QString::fromStdString(back.request.prompt), QString::fromStdString(s.request.prompt));
  QCOMPARE(back.seed, s.seed);
  QCOMPARE(back.request.sampling.seed, s.seed);
  QCOMPARE(back.request.size.width, 72);
  QCOMPARE(back.request.size.height, 40);
  QCOMPARE(back.request.sampling.steps, 7);
  QCOMPARE(back.request.sampling.guidance_scale, 3.5);
  QCOMPARE(QString::fromStdString(back.request.sampling.sampler), QString("heun"));
  QCOMPARE(back.request.sampling.clip_skip, 2);
  QCOMPARE(QString::fromStdString(back.dtype), QString("bf16"));
  // JSON written before "settings_version" counted clip skip as diffusers does (0 = the
  // last layer): it is read in the web UI's count.
  img::ImageSettings old;
  QVERIFY(img::settings_from_json(R"({"program": "Latent Studio 0.1.0", "clip_skip": 1})", &old));
  QCOMPARE(old.request.sampling.clip_skip, 2);
  QVERIFY(!img::settings_from_json("{\"other\": 1}", &back));
  QVERIFY(!img::settings_from_json("not json", &back));
}

// A base + refiner run with guidance rescale, as the web UI and the CFG Rescale extension
// write them: "CFG Rescale", "Refiner: NAME [HASH]", "Refiner switch at". The second prompts
// and the size conditioning have no web UI field and stay out of the text.
static GenerationRequest sdxl_request() {
  GenerationRequest r;
  r.prompt = "a lighthouse";
  r.prompt_2 = "oil painting";
  r.negative_prompt_2 = "photo";
  r.sampling.steps = 30;
  r.sampling.sampler = "euler";
  r.sampling.guidance_scale = 5;
  r.sampling.guidance_rescale = 0.7;
  r.size.width = r.size.height = 1024;
  r.sdxl.original_width = 2048;
  r.sdxl.original_height = 1536;
  r.sdxl.crop_left = 16;
  r.sdxl.crop_top = 32;
  r.sdxl.target_width = 1024;
  r.sdxl.target_height = 768;
  r.sdxl.aesthetic_score = 7.5;
  r.sdxl.negative_aesthetic_score = 1.5;
  r.refiner.path = "/models/sd_xl_refiner_1.0.safetensors";
  r.refiner.switch_at = 0.75;
  return r;
}

void TestImageMetadata::writesSdxlFieldsAsTheWebUi() {
  img::ParametersExtras extras;
  extras.model_name = "sd_xl_base_1.0";
  extras.model_hash = "31e35c80fc";
  extras.refiner_name = "sd_xl_refiner_1.0";
  extras.refiner_hash = "7440042bbd";
  const std::string text = img::format_parameters(sdxl_request(), 7, extras);
  QCOMPARE(QString::fromStdString(text),
           QString("a lighthouse\n"
                   "Steps: 30, Sampler: Euler, CFG scale: 5, Seed: 7, Size: 1024x1024, "
                   "Model hash: 31e35c80fc, Model: sd_xl_base_1.0, RNG: CPU, CFG Rescale: 0.7, "
                   "Refiner: sd_xl_refiner_1.0 [7440042bbd], Refiner switch at: 0.75, "
                   "Version: Latent Studio " LATENT_VERSION));
  // Without a result's name and hash, the request's refiner file names it.
  const std::string bare = img::format_parameters(sdxl_request(), 7, {});
  QVERIFY2(QString::fromStdString(bare).contains("Refiner: sd_xl_refiner_1.0, Refiner switch at: 0.75"),
           bare.c_str());
  // Off, neither is written.
  GenerationRequest plain = sdxl_request();
  plain.sampling.guidance_rescale = 0;
  plain.refiner = {};
  const QString off = QString::fromStdString(img::format_parameters(plain, 7, {}));
  QVERIFY2(!off.contains("CFG Rescale") && !off.contains("Refiner"), qPrintable(off));
}

void TestImageMetadata::readsSdxlFieldsBack() {
  img::ParametersExtras extras;
  extras.model_name = "sd_xl_base_1.0";
  extras.model_hash = "31e35c80fc";
  extras.refiner_name = "sd_xl_refiner_1.0";
  extras.refiner_hash = "7440042bbd";
  const img::ParsedParameters parsed = img::parse_parameters(img::format_parameters(sdxl_request(), 7, extras));
  // A form whose refiner is the file the text names keeps it.
  GenerationRequest base;
  base.refiner.path = "/elsewhere/sd_xl_refiner_1.0.safetensors";
  const auto result = parsed.to_result(base);
  QCOMPARE(QString::fromStdString(result.refiner_name), QString("sd_xl_refiner_1.0"));
  QCOMPARE(QString::fromStdString(result.refiner_hash), QString("7440042bbd"));
  QCOMPARE(result.request.sampling.guidance_rescale, 0.7);
  QCOMPARE(result.request.refiner.switch_at, 0.75);
  QCOMPARE(QString::fromStdString(result.request.refiner.path), QString::fromStdString(base.refiner.path));
  // Another refiner in the form is not the one the text names.
  base.refiner.path = "/models/other_refiner.safetensors";
  QVERIFY(!parsed.to_request(base).refiner.given());
  // A text without the fields: no rescale, no refiner.
  base.sampling.guidance_rescale = 0.5;
  const auto none = img::parse_parameters("p\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1").to_request(base);
  QCOMPARE(none.sampling.guidance_rescale, 0.0);
  QVERIFY(!none.refiner.given());
  // The extension's older field name, and the web UI's refiner without a hash.
  const auto older = img::parse_parameters(
      "p\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, CFG Rescale phi: 0.3, Refiner: my refiner, "
      "Refiner switch at: 0.6").to_result(base);
  QCOMPARE(older.request.sampling.guidance_rescale, 0.3);
  QCOMPARE(older.request.refiner.switch_at, 0.6);
  QCOMPARE(QString::fromStdString(older.refiner_name), QString("my refiner"));
  QVERIFY(older.refiner_hash.empty());
}

void TestImageMetadata::settingsJsonCarriesTheFewStepFields() {
  img::ImageSettings s;
  s.request.sampling.sampler = "tcd";
  s.request.sampling.tcd_gamma = 0.45;
  s.request.sampling.lcm_original_steps = 100;
  s.request.vae = "/models/taesd";
  s.vae_name = "taesd";
  s.vae_hash = "0123456789";
  img::ImageSettings back;
  QVERIFY(img::settings_from_json(img::settings_to_json(s), &back));
  QCOMPARE(back.request.sampling.tcd_gamma, 0.45);
  QCOMPARE(back.request.sampling.lcm_original_steps, 100);
  QCOMPARE(QString::fromStdString(back.request.vae), QString("/models/taesd"));
  QCOMPARE(QString::fromStdString(back.vae_name), QString("taesd"));
  QCOMPARE(QString::fromStdString(back.vae_hash), QString("0123456789"));
  // Written before these existed: the defaults, and the model's own VAE.
  img::ImageSettings old;
  old.request = s.request;
  QVERIFY(img::settings_from_json(R"({"program": "Latent Studio 0.1.0", "sampler": "tcd"})", &old));
  QCOMPARE(old.request.sampling.tcd_gamma, GenerationRequest().sampling.tcd_gamma);
  QCOMPARE(old.request.sampling.lcm_original_steps, 0);
  QVERIFY(old.request.vae.empty());
}

void TestImageMetadata::settingsJsonCarriesSdxlFields() {
  img::ImageSettings s;
  s.request = sdxl_request();
  s.refiner_name = "sd_xl_refiner_1.0";
  s.refiner_hash = "7440042bbd";
  img::ImageSettings back;
  QVERIFY(img::settings_from_json(img::settings_to_json(s), &back));
  const GenerationRequest& r = back.request;
  QCOMPARE(QString::fromStdString(r.prompt_2), QString("oil painting"));
  QCOMPARE(QString::fromStdString(r.negative_prompt_2), QString("photo"));
  QCOMPARE(r.sampling.guidance_rescale, 0.7);
  QCOMPARE(r.sdxl.original_width, 2048);
  QCOMPARE(r.sdxl.original_height, 1536);
  QCOMPARE(r.sdxl.crop_left, 16);
  QCOMPARE(r.sdxl.crop_top, 32);
  QCOMPARE(r.sdxl.target_width, 1024);
  QCOMPARE(r.sdxl.target_height, 768);
  QCOMPARE(r.sdxl.aesthetic_score, 7.5);
  QCOMPARE(r.sdxl.negative_aesthetic_score, 1.5);
  QCOMPARE(QString::fromStdString(r.refiner.path), QString("/models/sd_xl_refiner_1.0.safetensors"));
  QCOMPARE(r.refiner.switch_at, 0.75);
  QCOMPARE(QString::fromStdString(back.refiner_name), QString("sd_xl_refiner_1.0"));
  QCOMPARE(QString::fromStdString(back.refiner_hash), QString("7440042bbd"));
  // An image written before these fields existed was made without them: a form's refiner,
  // rescale and second prompts do not carry over into it.
  img::ImageSettings old;
  old.request = sdxl_request();
  QVERIFY(img::settings_from_json(R"({"program": "Latent Studio 0.1.0", "settings_version": 2})", &old));
  const GenerationRequest defaults;
  QVERIFY(!old.request.refiner.given());
  QCOMPARE(old.request.refiner.switch_at, defaults.refiner.switch_at);
  QCOMPARE(old.request.sampling.guidance_rescale, 0.0);
  QVERIFY(old.request.prompt_2.empty());
  QCOMPARE(old.request.sdxl.original_width, 0);
  QCOMPARE(old.request.sdxl.aesthetic_score, defaults.sdxl.aesthetic_score);
}

QTEST_GUILESS_MAIN(TestImageMetadata)
#include "tst_image_metadata.moc"
