// latentstudio-cli grid on the tiny model: a 2x2 plot whose cells are exactly the pictures
// `generate` makes alone with the same settings (and diffusers' golden ones where the golden
// data has the case), the legend's bands around the same cells, the LoRA multiplier axis
// against diffusers' LoRA goldens, one grid per Z value, the metadata of the grid and of each
// kept picture, and bad values refused before any work.
#include <QtTest/QtTest>

#include <QDir>
#include <QTemporaryDir>

#include "core/image/grid_image.h"
#include "core/image/image_prep.h"
#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "tests/support/cli_process.h"
#include "tests/support/golden.h"
#include "tests/support/image_compare.h"

using namespace latent;

namespace {

// The golden cases' common settings: e2e_tiny_sd_<sampler>_p1.
const QStringList kP1 = {"--prompt", "an astronaut riding a horse on mars", "--seed", "0", "--guidance", "7.5",
                         "--width", "64", "--height", "64"};

QString tinyModel() { return test::data_path("tiny-sd"); }

torch::Tensor pixelsOf(const cv::Mat& rgb) {
  return torch::from_blob(rgb.data, {1, rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
}

torch::Tensor pixelsOf(const QString& png) { return pixelsOf(image::load_image_rgb(png.toStdString())); }

// The pixels of `box` in the picture `png`.
torch::Tensor cellOf(const QString& png, cv::Rect box) {
  return pixelsOf(image::load_image_rgb(png.toStdString())(box).clone());
}

image::ParsedParameters parametersOf(const QString& png) {
  for (const auto& [key, text] : image::read_png_text_file(png.toStdString()))
    if (key == "parameters") return image::parse_parameters(text);
  return {};
}

QString field(const image::ParsedParameters& p, const char* key) { return QString::fromStdString(p.field(key).value_or("")); }

test::CliRun grid(const QStringList& options) {
  const test::CliRun run = test::run_cli(QStringList{"grid", "--model", tinyModel()} + options);
  if (run.exit_code != 0) qWarning("%s", qPrintable(run.err));
  return run;
}

// `generate` alone with these settings; the picture written.
QString generateAlone(const QTemporaryDir& dir, const QString& name, const QStringList& options) {
  const QString out = dir.filePath(name);
  const test::CliRun run = test::run_cli(QStringList{"generate", "--model", tinyModel(), "--out", out} + options);
  if (run.exit_code != 0) qWarning("%s", qPrintable(run.err));
  return run.exit_code == 0 ? out : QString();
}

void compareToGolden(const torch::Tensor& pixels, const QString& id) {
  const QJsonObject golden = test::golden_case(id);
  const int tolerance = golden.value("tolerance").toObject().value("uint8_max_abs_diff").toInt(1);
  LATENT_COMPARE_IMAGES(pixels, test::golden_tensor(id + "/image_uint8.npy"), tolerance);
}

}  // namespace

class TestCliGrid : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void cellsAreTheSeparatePictures() {
    QTemporaryDir dir;
    const QString out = dir.filePath("grid.png");
    const QString kept = dir.filePath("kept");
    const test::CliRun run = grid(kP1 + QStringList{"--x-type", "sampler", "--x-values", "Euler, LMS", "--y-type",
                                                    "steps", "--y-values", "10, 12", "--no-legend", "--out", out,
                                                    "--keep-images", kept});
    QCOMPARE(run.exit_code, 0);
    QVERIFY2(run.err.contains("X/Y/Z plot: 4 pictures, 2 x 2"), qPrintable(run.err));
    const cv::Mat whole = image::load_image_rgb(out.toStdString());
    QCOMPARE(whole.cols, 128);
    QCOMPARE(whole.rows, 128);
    const char* const samplers[] = {"euler", "lms"};
    const char* const steps[] = {"10", "12"};
    for (int x = 0; x < 2; ++x) {
      for (int y = 0; y < 2; ++y) {
        const QString place = QString("x%1-y%2-z1").arg(x + 1).arg(y + 1);
        const torch::Tensor cell = cellOf(out, {x * 64, y * 64, 64, 64});
        // The same picture as a generation of its own with these settings, to the bit.
        const QString alone = generateAlone(dir, place + "-alone.png",
                                            kP1 + QStringList{"--sampler", samplers[x], "--steps", steps[y]});
        QVERIFY(!alone.isEmpty());
        QVERIFY2(torch::equal(cell, pixelsOf(alone)), qPrintable(place));
        const QString keptPicture = QDir(kept).filePath(place + ".png");
        QVERIFY2(torch::equal(cell, pixelsOf(keptPicture)), qPrintable(place));
        // Each kept picture carries its own settings.
        const auto p = parametersOf(keptPicture);
        QCOMPARE(field(p, "Sampler"), QString(x == 0 ? "Euler" : "LMS"));
        QCOMPARE(field(p, "Steps"), QString(steps[y]));
        QVERIFY(!p.field("Script"));
      }
    }
    // diffusers' pictures for the ten-step cells.
    compareToGolden(cellOf(out, {0, 0, 64, 64}), "e2e_tiny_sd_euler_p1");
    compareToGolden(cellOf(out, {64, 0, 64, 64}), "e2e_tiny_sd_lms_p1");

    // The grid's metadata: the first picture's settings and the plot's fields.
    const auto p = parametersOf(out);
    QCOMPARE(QString::fromStdString(p.prompt), QString("an astronaut riding a horse on mars"));
    QCOMPARE(field(p, "Sampler"), QString("Euler"));
    QCOMPARE(field(p, "Steps"), QString("10"));
    QCOMPARE(field(p, "Seed"), QString("0"));
    QCOMPARE(field(p, "Script"), QString("X/Y/Z plot"));
    QCOMPARE(field(p, "X Type"), QString("Sampler"));
    QCOMPARE(field(p, "X Values"), QString("Euler, LMS"));
    QCOMPARE(field(p, "Y Type"), QString("Steps"));
    QCOMPARE(field(p, "Y Values"), QString("10, 12"));
    bool settings = false;
    for (const auto& [key, text] : image::read_png_text_file(out.toStdString()))
      settings |= key == "latentstudio" && text.find("\"sampler\":\"euler\"") != std::string::npos;
    QVERIFY(settings);
  }

  void legendBandsAroundTheSameCells() {
    QTemporaryDir dir;
    const QString out = dir.filePath("grid.png");
    const QString kept = dir.filePath("kept");
    const test::CliRun run = grid(kP1 + QStringList{"--steps", "10", "--x-type", "sampler", "--x-values",
                                                    "euler,lms", "--out", out, "--keep-images", kept});
    QCOMPARE(run.exit_code, 0);
    const auto layout = image::grid_layout(2, 1, 64, 64, {"Euler", "LMS"}, {""});
    QCOMPARE(layout.left, 0);
    QVERIFY(layout.top > 0);
    const cv::Mat whole = image::load_image_rgb(out.toStdString());
    QCOMPARE(whole.cols, layout.width);
    QCOMPARE(whole.rows, layout.height);
    QVERIFY(torch::equal(cellOf(out, layout.cell(0, 0)), pixelsOf(QDir(kept).filePath("x1-y1-z1.png"))));
    QVERIFY(torch::equal(cellOf(out, layout.cell(1, 0)), pixelsOf(QDir(kept).filePath("x2-y1-z1.png"))));
    // The band holds black text on white.
    const torch::Tensor band = cellOf(out, {0, 0, layout.width, layout.top});
    QVERIFY(band.max().item<int>() == 255);
    QVERIFY(band.min().item<int>() < 64);
  }

  void loraMultiplierAxisMatchesDiffusers() {
    QTemporaryDir dir;
    const QString out = dir.filePath("grid.png");
    const test::CliRun run =
        grid({"--prompt", "an astronaut riding a horse", "--seed", "20", "--steps", "10", "--sampler", "euler",
              "--width", "64", "--height", "64", "--lora", test::data_path("lora/tiny-sd-lora-kohya.safetensors"),
              "--x-type", "lora-multiplier", "--x-values", "0-1 [3]", "--no-legend", "--out", out});
    QCOMPARE(run.exit_code, 0);
    compareToGolden(cellOf(out, {0, 0, 64, 64}), "lora_e2e_euler_x0.0");
    compareToGolden(cellOf(out, {64, 0, 64, 64}), "lora_e2e_euler_x0.5");
    compareToGolden(cellOf(out, {128, 0, 64, 64}), "lora_e2e_euler_x1.0");
    QCOMPARE(field(parametersOf(out), "X Type"), QString("LoRA multiplier"));
  }

  void oneGridPerZValue() {
    QTemporaryDir dir;
    const QString kept = dir.filePath("kept");
    const test::CliRun run = grid({"--prompt", "a red car", "--width", "64", "--height", "64", "--steps", "2",
                                   "--x-type", "guidance", "--x-values", "1, 7", "--z-type", "seed", "--z-values",
                                   "3, 4", "--grid-per-z", "--no-legend", "--out", dir.filePath("plot.png"),
                                   "--keep-images", kept});
    QCOMPARE(run.exit_code, 0);
    for (int z = 1; z <= 2; ++z) {
      const QString path = dir.filePath(QString("plot-%1.png").arg(z));
      const cv::Mat whole = image::load_image_rgb(path.toStdString());
      QCOMPARE(whole.cols, 128);
      QCOMPARE(whole.rows, 64);
      QVERIFY(torch::equal(cellOf(path, {64, 0, 64, 64}), pixelsOf(QDir(kept).filePath(QString("x2-y1-z%1.png").arg(z)))));
      // Each grid carries its own first picture's seed.
      QCOMPARE(field(parametersOf(path), "Seed"), QString::number(2 + z));
      QCOMPARE(field(parametersOf(path), "Z Type"), QString("Seed"));
    }
    QVERIFY(!QFileInfo::exists(dir.filePath("plot.png")));
  }

  void badValuesStopBeforeAnyWork_data() {
    QTest::addColumn<QStringList>("options");
    QTest::addColumn<QString>("message");
    QTest::newRow("word for a number") << QStringList{"--x-type", "steps", "--x-values", "10, ten"}
                                       << "X axis (Steps): 'ten' is not a whole number";
    QTest::newRow("unknown sampler") << QStringList{"--y-type", "Sampler", "--y-values", "euler, warp"}
                                     << "Y axis (Sampler): 'warp' is not a sampler";
    QTest::newRow("missing checkpoint") << QStringList{"--x-type", "checkpoint", "--x-values", "tiny-sd, gone"}
                                        << "X axis (Checkpoint name): 'gone' is not a model";
    QTest::newRow("search text not in the prompt") << QStringList{"--z-type", "prompt-sr", "--z-values", "dog, cat"}
                                                   << "Z axis (Prompt S/R): 'dog' (the first value";
    QTest::newRow("strength without a picture") << QStringList{"--x-type", "strength", "--x-values", "0.5"}
                                                << "X axis (Denoising): it needs a starting picture";
    QTest::newRow("multiplier without a LoRA") << QStringList{"--x-type", "lora-multiplier", "--x-values", "1"}
                                               << "X axis (LoRA multiplier): it changes the multiplier of one LoRA";
    QTest::newRow("unknown type") << QStringList{"--x-type", "colour", "--x-values", "red"}
                                  << "unknown axis type 'colour'";
    QTest::newRow("values without type") << QStringList{"--x-values", "1,2"} << "--x-values needs --x-type";
    QTest::newRow("no axis") << QStringList{} << "give at least one axis";
    QTest::newRow("refused combination") << QStringList{"--x-type", "guidance", "--x-values", "7", "--width", "60"}
                                         << "the combination \"CFG Scale: 7\" is refused: width 60";
  }
  void badValuesStopBeforeAnyWork() {
    QFETCH(QStringList, options);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const QString out = dir.filePath("grid.png");
    const QString kept = dir.filePath("kept");
    const test::CliRun run = test::run_cli(QStringList{"grid", "--model", tinyModel(), "--prompt", "a cat",
                                                       "--steps", "2", "--out", out, "--keep-images", kept} +
                                           options);
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains("error: " + message), qPrintable(run.err));
    QVERIFY(!run.err.contains("[1/"));  // no picture was begun
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY(!QFileInfo::exists(kept));
  }
};

QTEST_GUILESS_MAIN(TestCliGrid)
#include "tst_cli_grid.moc"
