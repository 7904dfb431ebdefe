// latentstudio-cli with the hires fix and the upscale command, run as a user runs them:
// generate --hires-* against the golden two-pass pictures (tests/data/hires), the PNG's
// parameters in the web UI's words, and upscale with a small random network.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include "core/api/upscaler_names.h"
#include "core/image/image_prep.h"
#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/io/safetensors.h"
#include "core/models/srvgg.h"
#include "tests/support/cli_process.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const test::GoldenSet& hires() {
  static const test::GoldenSet set("hires");
  return set;
}

QStringList case_arguments(const QJsonObject& golden, const QString& out) {
  const QJsonObject in = golden.value("inputs").toObject();
  const auto* upscaler = api::find_built_in_upscaler(in.value("hr_upscaler").toString().toStdString());
  return {"generate", "--model", test::data_path(golden.value("model").toString()),
          "--prompt", test::json_strings(in.value("prompt")).at(0).c_str(),
          "--seed", QString::number(in.value("seed").toInt()),
          "--steps", QString::number(in.value("first_pass_steps").toInt()),
          "--guidance", QString::number(in.value("guidance_scale").toDouble()),
          "--sampler", golden.value("scheduler").toString(),
          "--width", QString::number(in.value("width").toInt()),
          "--height", QString::number(in.value("height").toInt()),
          "--hires-scale", QString::number(in.value("hr_scale").toDouble()),
          "--hires-upscaler", QString::fromStdString(upscaler->name),
          "--hires-steps", QString::number(in.value("second_pass_steps").toInt()),
          "--hires-strength", QString::number(in.value("denoising_strength").toDouble()),
          "--out", out};
}

std::string text_chunk(const QString& png, const std::string& key) {
  for (const auto& [k, v] : image::read_png_text_file(png.toStdString()))
    if (k == key) return v;
  return {};
}

}  // namespace

class TestCliHires : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void generateMatchesTheGoldenRun_data() {
    QTest::addColumn<QString>("id");
    QTest::newRow("latent nearest-exact, DPM++ 2M") << "hires_latent_nearest_exact_x2_dpmpp_2m_s0.5";
    QTest::newRow("lanczos, 64x48") << "hires_image_lanczos_x1.5_dpmpp_2m_s0.7_h48_w64";
  }

  void generateMatchesTheGoldenRun() {
    QFETCH(QString, id);
    const QJsonObject golden = hires().case_of(id);
    QTemporaryDir dir;
    const QString out = dir.filePath("hires.png");
    const auto run = test::run_cli(case_arguments(golden, out));
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    const cv::Mat rgb = image::load_image_rgb(out.toStdString());
    const auto actual = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
    const auto expected = hires().tensor(golden.value("outputs").toObject().value("image_uint8").toObject()
                                             .value("file").toString());
    QCOMPARE(actual.sizes().vec(), expected.view({-1, expected.size(-3), expected.size(-2), 3})[0].sizes().vec());
    const double diff = test::max_abs_difference(actual.to(torch::kFloat32), expected.view(actual.sizes()).to(torch::kFloat32));
    QVERIFY2(diff <= golden.value("tolerance").toObject().value("uint8_max_abs_diff").toDouble(),
             qPrintable(QString::number(diff)));
    // The web UI's fields, which read back to the same second pass.
    const auto parameters = text_chunk(out, "parameters");
    const QJsonObject in = golden.value("inputs").toObject();
    const std::string upscaler = "Hires upscaler: " + in.value("hr_upscaler").toString().toStdString();
    QVERIFY2(parameters.find(upscaler) != std::string::npos, parameters.c_str());
    QVERIFY2(parameters.find("Size: " + std::to_string(in.value("width").toInt()) + "x" +
                             std::to_string(in.value("height").toInt())) != std::string::npos,
             parameters.c_str());
    const auto back = image::parse_parameters(parameters).to_request(api::GenerationRequest());
    QVERIFY(back.second_pass.enabled);
    QCOMPARE(back.second_pass.denoising_strength, in.value("denoising_strength").toDouble());
    QCOMPARE(back.second_pass.scale, in.value("hr_scale").toDouble());
  }

  void badHiresOptions() {
    QTemporaryDir dir;
    const QString model = test::data_path("tiny-sd");
    const QStringList base{"generate", "--model", model, "--prompt", "x", "--width", "64", "--height", "64",
                           "--steps", "2", "--out", dir.filePath("x.png")};
    auto run = test::run_cli(base + QStringList{"--hires-upscaler", "no-such-upscaler"});
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("--hires-upscaler 'no-such-upscaler'"), qPrintable(run.err));
    run = test::run_cli(base + QStringList{"--hires-steps", "4"});
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("--hires-steps needs the hires fix"), qPrintable(run.err));
    run = test::run_cli(base + QStringList{"--hires-scale", "2", "--hires-size", "128x128"});
    QCOMPARE(run.exit_code, 1);
    run = test::run_cli(base + QStringList{"--hires-size", "12x"});
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("WIDTHxHEIGHT"), qPrintable(run.err));
    run = test::run_cli(base + QStringList{"--hires-scale", "2", "--hires-strength", "1.5"});
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("hires strength 1.5"), qPrintable(run.err));
  }

  void upscaleWritesMetadata() {
    QTemporaryDir dir;
    torch::manual_seed(3);
    models::SRVGGConfig config;
    config.features = 8;
    config.convs = 2;
    models::SRVGGNetCompact net(config);
    std::vector<std::pair<std::string, torch::Tensor>> weights;
    for (const auto& item : net->named_parameters()) weights.emplace_back(item.key(), item.value());
    const QString model = dir.filePath("4x-tiny.safetensors");
    io::write_safetensors(model.toStdString(), weights);
    // A picture with parameters of its own, which the upscaled one keeps.
    api::Image picture;
    picture.width = 20;
    picture.height = 12;
    picture.rgb.assign(20 * 12 * 3, 100);
    const QString input = dir.filePath("in.png");
    image::write_file_atomically(input.toStdString(), image::encode_png(picture, {{"parameters", "a cat\nSteps: 3"}}));
    const QString out = dir.filePath("out.png");
    auto run = test::run_cli({"upscale", "--upscaler", model, "--image", input, "--out", out});
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    QCOMPARE(image::load_image_rgb(out.toStdString()).size(), cv::Size(80, 48));
    QCOMPARE(text_chunk(out, "parameters"), std::string("a cat\nSteps: 3"));
    QCOMPARE(text_chunk(out, "postprocessing"), std::string("Postprocess upscale by: 4, Postprocess upscaler: 4x-tiny"));
    // A factor other than the network's: passes, then Lanczos to the size.
    run = test::run_cli({"upscale", "--upscaler", model, "--scale", "2.5", "--image", input, "--out", out, "--overwrite"});
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    QCOMPARE(image::load_image_rgb(out.toStdString()).size(), cv::Size(50, 30));
    // Refusals name the value.
    run = test::run_cli({"upscale", "--upscaler", "latent", "--image", input, "--out", dir.filePath("o2.png")});
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("latents"), qPrintable(run.err));
    run = test::run_cli({"upscale", "--upscaler", model, "--image", input, "--out", out});
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("--overwrite"), qPrintable(run.err));
  }
};

QTEST_GUILESS_MAIN(TestCliHires)
#include "tst_cli_hires.moc"
