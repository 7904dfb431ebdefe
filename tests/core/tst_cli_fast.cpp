// Few-step generation through latentstudio-cli as a user runs it: the LCM, TCD and
// trailing-spacing options, the LCM-distilled model with --preset fast, and --vae and
// --preview-vae with the tiny autoencoder, each picture against diffusers' golden one
// (fast/golden) and its metadata.
#include <QtTest/QtTest>

#include <QDir>
#include <QTemporaryDir>

#include "core/image/image_prep.h"
#include "core/image/png_metadata.h"
#include "tests/support/cli_process.h"
#include "tests/support/golden.h"
#include "tests/support/fast_golden.h"
#include "tests/support/golden_set.h"
#include "tests/support/image_compare.h"
#include "tests/support/tiny_lcm_model.h"

using namespace latent;

namespace {

const test::GoldenSet& fast() { return test::fast_golden(); }

// `generate` on a golden case's prompt, seed and size, with `options`; the image written.
QString generate(const QTemporaryDir& dir, const QString& model, const QString& id, const QStringList& options) {
  const QJsonObject in = fast().case_of(id).value("inputs").toObject();
  const QString out = dir.filePath(id + ".png");
  const test::CliRun run = test::run_cli(
      QStringList{"generate", "--model", model, "--prompt", in.value("prompt").toArray().first().toString(),
                  "--seed", QString::number(in.value("seed").toInt()), "--width",
                  QString::number(in.value("width").toInt()), "--height", QString::number(in.value("height").toInt()),
                  "--out", out, "--overwrite"} +
      options);
  if (run.exit_code != 0) qWarning("%s", qPrintable(run.err));
  return run.exit_code == 0 ? out : QString();
}

torch::Tensor pixels_of(const QString& png) {
  const cv::Mat rgb = image::load_image_rgb(png.toStdString());
  return torch::from_blob(rgb.data, {1, rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
}

std::string parameters_of(const QString& png) {
  for (const auto& [key, text] : image::read_png_text_file(png.toStdString()))
    if (key == "parameters") return text;
  return {};
}

}  // namespace

class TestCliFast : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void matchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("metadata");  // what the parameters text must say
    QTest::newRow("lcm") << "lcm_sd_4step_g1" << QStringList{"--sampler", "lcm", "--steps", "4", "--guidance", "1"}
                         << "Sampler: LCM";
    QTest::newRow("lcm original steps")
        << "lcm_sd_4step_orig100"
        << QStringList{"--sampler", "lcm", "--steps", "4", "--guidance", "1", "--lcm-original-steps", "100"}
        << "LCM original steps: 100";
    QTest::newRow("tcd") << "tcd_4step_eta0.3"
                         << QStringList{"--sampler", "tcd", "--steps", "4", "--guidance", "1", "--tcd-gamma", "0.3"}
                         << "TCD gamma: 0.3";
    QTest::newRow("ddim trailing")
        << "ddim_trailing_4step_g1"
        << QStringList{"--sampler", "ddim", "--steps", "4", "--guidance", "1", "--timestep-spacing", "trailing"}
        << "Sampler: DDIM";
    QTest::newRow("tiny vae") << "taesd_e2e_lcm_4step_g1"
                              << QStringList{"--sampler", "lcm", "--steps", "4", "--guidance", "1", "--vae",
                                             test::data_path("fast/taesd")}
                              << "VAE: taesd";
  }

  void matchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(QStringList, options);
    QFETCH(QString, metadata);
    QTemporaryDir dir;
    const QString png = generate(dir, test::data_path("tiny-sd"), id, options);
    QVERIFY(!png.isEmpty());
    LATENT_COMPARE_IMAGES(pixels_of(png), fast().tensor(id + "/image_uint8.npy"), 1);
    const std::string parameters = parameters_of(png);
    QVERIFY2(parameters.find(metadata.toStdString()) != std::string::npos, parameters.c_str());
  }

  // A model whose scheduler config is LCM's: --preset fast picks LCM, 4 steps and its
  // guidance embedding's default 8.5, exactly LatentConsistencyModelPipeline's run.
  void fastPresetOnAnLcmModel() {
    QTemporaryDir dir;
    const QString model = test::make_tiny_lcm_model(dir.path());
    QVERIFY(!model.isEmpty());
    const QString id = "lcm_distilled_4step_g8.5";
    const QString png = generate(dir, model, id, {"--preset", "fast"});
    QVERIFY(!png.isEmpty());
    LATENT_COMPARE_IMAGES(pixels_of(png), fast().tensor(id + "/image_uint8.npy"), 1);
    const std::string parameters = parameters_of(png);
    for (const char* field : {"Steps: 4", "Sampler: LCM", "CFG scale: 8.5"})
      QVERIFY2(parameters.find(field) != std::string::npos, parameters.c_str());
  }

  // Previews from the tiny autoencoder after every step, the final picture from the model's VAE.
  void previewVaeWritesEveryStep() {
    QTemporaryDir dir;
    const QString previews = dir.filePath("previews");
    QVERIFY(QDir().mkpath(previews));
    const QString id = "lcm_sd_4step_g1";
    const QString png = generate(dir, test::data_path("tiny-sd"), id,
                                 {"--sampler", "lcm", "--steps", "4", "--guidance", "1", "--preview-vae",
                                  test::data_path("fast/taesd-tiny-original/taesd_decoder.safetensors"),
                                  "--preview-dir", previews});
    QVERIFY(!png.isEmpty());
    QCOMPARE(QDir(previews).entryList(QDir::Files).size(), 4);
    LATENT_COMPARE_IMAGES(pixels_of(png), fast().tensor(id + "/image_uint8.npy"), 1);
  }

  void refusesAFullVaeForPreviews() {
    QTemporaryDir dir;
    const test::CliRun run = test::run_cli({"generate", "--model", test::data_path("tiny-sd"), "--prompt", "x",
                                            "--width", "64", "--height", "64", "--steps", "1", "--preview-vae",
                                            test::data_path("tiny-sd/vae"), "--out", dir.filePath("a.png")});
    QVERIFY(run.exit_code != 0);
    QVERIFY2(run.err.contains("tiny autoencoder"), qPrintable(run.err));
  }
};

QTEST_GUILESS_MAIN(TestCliFast)
#include "tst_cli_fast.moc"
