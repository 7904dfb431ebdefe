// The web UI ControlNet extension's "ControlNet N" entries in the parameters text: written
// for every enabled unit (quoted, as REFERENCE.md's rules want), read back into units, and
// read from a text the web UI wrote; our settings JSON keeps the units with their files.
#include <QtTest/QtTest>

#include "core/image/parameters_text.h"
#include "core/image/settings_json.h"

using namespace latent;

namespace {

api::GenerationRequest controlled_request() {
  api::GenerationRequest request;
  request.prompt = "a house";
  api::ControlUnit canny;
  canny.model_path = "/models/control_v11p_sd15_canny.safetensors";
  canny.image_path = "/pictures/photo.png";
  canny.preprocessor = "canny";
  canny.threshold_a = 50;
  canny.threshold_b = 150;
  canny.weight = 0.8;
  canny.guidance_start = 0.1;
  canny.guidance_end = 0.9;
  canny.resize_mode = "crop";
  api::ControlUnit off = canny;
  off.enabled = false;
  api::ControlUnit scribble;
  scribble.model_path = "/models/control_v11p_sd15_scribble";
  scribble.image_path = "/pictures/scribble.png";
  request.control_units = {canny, off, scribble};
  return request;
}

}  // namespace

class TestControlNetMetadata : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void writesTheWebUiEntries() {
    image::ParametersExtras extras;
    extras.controlnets = {{"control_v11p_sd15_canny", "d14c016b"},
                          {"control_v11p_sd15_scribble", "4e6af23e"}};
    const std::string text = image::format_parameters(controlled_request(), 7, extras);
    QVERIFY2(
        text.find(
            "ControlNet 0: \"Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: "
            "0.8, "
            "Resize Mode: Crop and Resize, Processor Res: 512, Threshold A: 50, Threshold B: 150, "
            "Guidance Start: 0.1, Guidance End: 0.9, Pixel Perfect: False, Control Mode: "
            "Balanced\"") != std::string::npos,
        text.c_str());
    // The disabled unit is left out; the next enabled one is ControlNet 1.
    QVERIFY2(
        text.find(
            "ControlNet 1: \"Module: none, Model: control_v11p_sd15_scribble [4e6af23e], Weight: "
            "1, "
            "Resize Mode: Just Resize, Processor Res: 512, Threshold A: -1, Threshold B: -1") !=
            std::string::npos,
        text.c_str());
    QVERIFY(text.find("ControlNet 2") == std::string::npos);
    // Without hashes the model's file name alone, and guess mode as the extension's control mode.
    api::GenerationRequest guess = controlled_request();
    guess.control_guess_mode = true;
    const std::string plain = image::format_parameters(guess, 7, {});
    QVERIFY(plain.find("Model: control_v11p_sd15_canny, Weight") != std::string::npos);
    QVERIFY(plain.find("Control Mode: ControlNet is more important") != std::string::npos);
  }

  void readsBackWhatItWrites() {
    image::ParametersExtras extras;
    extras.controlnets = {{"control_v11p_sd15_canny", "d14c016b"},
                          {"control_v11p_sd15_scribble", "4e6af23e"}};
    api::GenerationRequest asked = controlled_request();
    asked.control_guess_mode = true;
    const auto parsed = image::parse_parameters(image::format_parameters(asked, 7, extras));
    // Over the same request: paths and pictures kept where the names agree.
    const api::GenerationRequest base = controlled_request();
    api::GenerationRequest back = parsed.to_request(base);
    QCOMPARE(back.control_units.size(), size_t{2});
    QVERIFY(back.control_guess_mode);
    const api::ControlUnit& canny = back.control_units[0];
    QCOMPARE(canny.model_path, base.control_units[0].model_path);
    QCOMPARE(canny.image_path, base.control_units[0].image_path);
    QCOMPARE(canny.preprocessor, std::string("canny"));
    QCOMPARE(canny.threshold_a, 50.0);
    QCOMPARE(canny.threshold_b, 150.0);
    QCOMPARE(canny.weight, 0.8);
    QCOMPARE(canny.guidance_start, 0.1);
    QCOMPARE(canny.guidance_end, 0.9);
    QCOMPARE(canny.resize_mode, std::string("crop"));
    QVERIFY(canny.enabled);
    // Unit 1 of the text is the scribble net; the base's unit 1 is another file: disabled.
    QCOMPARE(back.control_units[1].resize_mode, std::string("stretch"));
    QVERIFY(!back.control_units[1].enabled);
    const auto result = parsed.to_result(base);
    QCOMPARE(result.controlnets.size(), size_t{2});
    QCOMPARE(result.controlnets[1].name, std::string("control_v11p_sd15_scribble"));
    QCOMPARE(result.controlnets[1].hash, std::string("4e6af23e"));
    // A text without entries has no units.
    QVERIFY(image::parse_parameters("a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1")
                .to_request(base)
                .control_units.empty());
  }

  void readsTheWebUisText() {
    const std::string text =
        "a house by the lake\n"
        "Negative prompt: blurry\n"
        "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 123, Size: "
        "512x512, "
        "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
        "ControlNet 0: \"Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1.0, "
        "Resize Mode: "
        "Crop and Resize, Processor Res: 512, Threshold A: 100.0, Threshold B: 200.0, Guidance "
        "Start: 0.0, "
        "Guidance End: 1.0, Pixel Perfect: False, Control Mode: Balanced\", "
        "ControlNet 1: \"Module: none, Model: control_v11f1p_sd15_depth [cfd03158], Weight: 0.45, "
        "Resize Mode: "
        "Just Resize, Processor Res: 512, Threshold A: -1, Threshold B: -1, Guidance Start: 0.2, "
        "Guidance End: 0.75, Pixel Perfect: False, Control Mode: ControlNet is more important\", "
        "Version: v1.10.1";
    const auto parsed = image::parse_parameters(text);
    QCOMPARE(parsed.field("Version").value_or(""), std::string("v1.10.1"));
    const api::GenerationRequest empty;  // named: GCC 12 warns falsely about a braced temporary
    const auto result = parsed.to_result(empty);
    QCOMPARE(result.controlnets.size(), size_t{2});
    QCOMPARE(result.controlnets[0].name, std::string("control_v11p_sd15_canny"));
    QCOMPARE(result.controlnets[1].hash, std::string("cfd03158"));
    const auto& units = result.request.control_units;
    QCOMPARE(units.size(), size_t{2});
    QCOMPARE(units[0].threshold_b, 200.0);
    QCOMPARE(units[1].weight, 0.45);
    QCOMPARE(units[1].guidance_end, 0.75);
    QCOMPARE(units[1].resize_mode, std::string("stretch"));
    QVERIFY(result.request.control_guess_mode);
    QVERIFY(!units[0].enabled);  // no model file or picture known yet
  }

  // Our own settings chunk keeps every unit with its files and guess mode.
  void settingsJsonKeepsTheUnits() {
    image::ImageSettings settings;
    settings.request = controlled_request();
    settings.request.control_guess_mode = true;
    image::ImageSettings back;
    QVERIFY(image::settings_from_json(image::settings_to_json(settings), &back));
    const auto& units = back.request.control_units;
    QCOMPARE(units.size(), size_t{3});
    QVERIFY(back.request.control_guess_mode);
    for (size_t i = 0; i < units.size(); ++i) {
      const api::ControlUnit& a = settings.request.control_units[i];
      QCOMPARE(units[i].model_path, a.model_path);
      QCOMPARE(units[i].image_path, a.image_path);
      QCOMPARE(units[i].preprocessor, a.preprocessor);
      QCOMPARE(units[i].threshold_a, a.threshold_a);
      QCOMPARE(units[i].threshold_b, a.threshold_b);
      QCOMPARE(units[i].resize_mode, a.resize_mode);
      QCOMPARE(units[i].weight, a.weight);
      QCOMPARE(units[i].guidance_start, a.guidance_start);
      QCOMPARE(units[i].guidance_end, a.guidance_end);
      QCOMPARE(units[i].enabled, a.enabled);
    }
    // Without units in the chunk, none.
    image::ImageSettings plain;
    plain.request.prompt = "x";
    back.request = settings.request;
    QVERIFY(image::settings_from_json(image::settings_to_json(plain), &back));
    QVERIFY(back.request.control_units.empty());
  }
};

QTEST_GUILESS_MAIN(TestControlNetMetadata)
#include "tst_controlnet_metadata.moc"
