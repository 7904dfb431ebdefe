// latentstudio-cli generate on the tiny Stable Diffusion 2.x model, run as a user runs it,
// against diffusers' pictures (tests/data/sd2/golden): v-prediction from the folder, the
// single file with its configs, an epsilon "2.x base" run (--prediction epsilon), zero
// terminal SNR with trailing spacing and guidance rescale, and the model's default size;
// and the PNG's parameters name what was asked.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include "core/image/image_prep.h"
#include "core/image/png_metadata.h"
#include "tests/support/cli_process.h"
#include "tests/support/golden.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

const test::GoldenSet& sd2() {
  static const test::GoldenSet set("sd2");
  return set;
}

// The generate arguments that reproduce a case: its prompt, seed, steps, guidance, sampler
// and size (left to the model's default where diffusers was given none).
QStringList case_arguments(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  const auto p = test::sd2_text_to_image_params(golden);
  QStringList args{"generate",
                   "--prompt", QString::fromStdString(p.prompts.at(0)),
                   "--seed", QString::number(p.seed),
                   "--steps", QString::number(p.steps),
                   "--guidance", QString::number(p.guidance_scale),
                   "--sampler", QString::fromStdString(p.sampler)};
  if (!p.negative_prompts.empty()) args << "--negative" << QString::fromStdString(p.negative_prompts.at(0));
  if (in.value("height_width_passed").toBool())
    args << "--width" << QString::number(p.width) << "--height" << QString::number(p.height);
  if (p.guidance_rescale > 0) args << "--guidance-rescale" << QString::number(p.guidance_rescale);
  if (p.clip_skip > 0) args << "--clip-skip" << QString::number(p.clip_skip + 1);  // the web UI's count
  return args;
}

torch::Tensor png_pixels(const QString& path) {
  const cv::Mat rgb = image::load_image_rgb(path.toStdString());
  return torch::from_blob(rgb.data, {1, rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
}

}  // namespace

class TestCliSd2 : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void generateMatchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<QStringList>("model");
    QTest::addColumn<QStringList>("extra");
    const QString folder = test::data_path("sd2/tiny-sd2");
    const QStringList from_folder{"--model", folder};
    const QStringList from_file{"--model", folder + ".safetensors", "--config-dir", folder};
    QTest::newRow("euler v, folder") << "sd2_euler_v" << from_folder << QStringList{};
    QTest::newRow("euler v, single file") << "sd2_euler_v" << from_file << QStringList{};
    QTest::newRow("pndm v") << "sd2_pndm_v" << from_folder << QStringList{};
    QTest::newRow("clip skip 2") << "sd2_euler_v_clip_skip1" << from_file << QStringList{};
    QTest::newRow("default size, '!' prompts") << "sd2_ddim_v_default_96px_exclaim_negative" << from_folder
                                               << QStringList{};
    QTest::newRow("epsilon 2.x base") << "sd2_base_pndm_eps" << from_file
                                      << QStringList{"--prediction", "epsilon"};
    QTest::newRow("zero SNR, trailing, rescale")
        << "sd2_ddim_zero_snr_trailing_v_rescale0.7" << from_folder
        << QStringList{"--zero-snr", "--timestep-spacing", "trailing"};
    QTest::newRow("euler zero SNR, trailing")
        << "sd2_euler_zero_snr_trailing_v" << from_file
        << QStringList{"--zero-snr", "--timestep-spacing", "trailing"};
  }

  void generateMatchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(QStringList, model);
    QFETCH(QStringList, extra);
    const QJsonObject golden = sd2().case_of(id);
    QTemporaryDir dir;
    const QString out = dir.filePath("out.png");
    const auto run = test::run_cli(case_arguments(golden) + model + extra + QStringList{"--out", out});
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    const double pixels = test::max_abs_difference(png_pixels(out), sd2().tensor(id + "/image_uint8.npy"));
    QVERIFY2(pixels <= golden.value("tolerance").toObject().value("uint8_max_abs_diff").toDouble(),
             qPrintable(QString("pixels differ by %1").arg(pixels)));
    const auto texts = image::read_png_text_file(out.toStdString());
    QString parameters;
    for (const auto& [key, value] : texts)
      if (key == "parameters") parameters = QString::fromStdString(value);
    if (extra.contains("--zero-snr")) {
      QVERIFY2(parameters.contains("Noise Schedule: Zero Terminal SNR"), qPrintable(parameters));
      QVERIFY2(parameters.contains("Timestep Spacing: trailing"), qPrintable(parameters));
    }
  }

  // The weights of a 2.x single file cannot tell v from epsilon: without --config-dir the
  // bundled 768-v configs are read, which the tiny model's weights do not fit, and the
  // refusal names them; --prediction epsilon names the 512 base configs instead.
  void singleFileUsesTheBundledConfigs_data() {
    QTest::addColumn<QStringList>("extra");
    QTest::addColumn<QString>("configs");
    QTest::newRow("v") << QStringList{} << "Stable Diffusion 2.1 (768, v-prediction)";
    QTest::newRow("epsilon") << QStringList{"--prediction", "epsilon"} << "Stable Diffusion 2.x base (512, epsilon)";
  }

  void singleFileUsesTheBundledConfigs() {
    QFETCH(QStringList, extra);
    QFETCH(QString, configs);
    QTemporaryDir dir;
    const auto run = test::run_cli(QStringList{"generate", "--prompt", "a cat", "--steps", "1", "--model",
                                               test::data_path("sd2/tiny-sd2.safetensors"), "--out",
                                               dir.filePath("out.png")} + extra);
    QVERIFY(run.exit_code != 0);
    QVERIFY2(run.err.contains("bundled " + configs + " configs"), qPrintable(run.err));
  }

  void refusesBadValues_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    QTest::newRow("prediction") << QStringList{"--prediction", "x0"} << "--prediction 'x0' is not one of v, epsilon";
    QTest::newRow("spacing") << QStringList{"--timestep-spacing", "even"}
                             << "timestep spacing \"even\" is not one of leading, linspace, trailing";
    QTest::newRow("zero SNR with epsilon") << QStringList{"--zero-snr", "--prediction", "epsilon"}
                                           << "zero terminal SNR needs a v-prediction model";
  }

  void refusesBadValues() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const auto run = test::run_cli(QStringList{"generate", "--prompt", "a cat", "--steps", "2", "--width", "64",
                                               "--height", "64", "--model", test::data_path("sd2/tiny-sd2"),
                                               "--out", dir.filePath("out.png")} + arguments);
    QVERIFY(run.exit_code != 0);
    QVERIFY2(run.err.contains(message), qPrintable(run.err));
    QVERIFY(!QFileInfo::exists(dir.filePath("out.png")));
  }
};

QTEST_GUILESS_MAIN(TestCliSd2)
#include "tst_cli_sd2.moc"
