// latentstudio-cli with ControlNets, run as a user runs it, against diffusers' pictures
// (tests/data/controlnet/golden): one net from its folder and from its original single file,
// two nets with their own scales and windows, guess mode, the default size taken from the
// control picture, image to image with diffusers' default scale; the PNG's parameters carry
// the web UI's ControlNet entries; `preprocess` writes OpenCV's Canny map; a ControlNet of
// another family and malformed --control values are refused with the reason.
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include "core/image/image_prep.h"
#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/image/settings_json.h"
#include "tests/support/cli_process.h"
#include "tests/support/controlnet_golden.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

const test::GoldenSet& set() { return test::controlnet_set(); }

QString net(const char* name) { return test::data_path(QString("controlnet/models/") + name); }

// generate's arguments for a case: prompt, seed, steps, guidance and sampler.
QStringList case_arguments(const QJsonObject& golden) {
  const QJsonObject in = golden.value("inputs").toObject();
  return {"generate",
          "--model",
          test::data_path(golden.value("model").toString()),
          "--prompt",
          in.value("prompt").toArray().first().toString(),
          "--seed",
          QString::number(in.value("seed").toInt()),
          "--steps",
          QString::number(in.value("num_inference_steps").toInt()),
          "--guidance",
          QString::number(in.value("guidance_scale").toDouble()),
          "--sampler",
          golden.value("scheduler").toString()};
}

QString control_picture(const QJsonObject& golden, int k) {
  return test::controlnet_file(golden.value("inputs")
                                   .toObject()
                                   .value("control_images")
                                   .toArray()[k]
                                   .toObject()
                                   .value("png")
                                   .toString());
}

torch::Tensor png_pixels(const QString& path) {
  const cv::Mat rgb = image::load_image_rgb(path.toStdString());
  return torch::from_blob(rgb.data, {1, rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
}

}  // namespace

class TestCliControlNet : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void generateMatchesDiffusers_data() {
    QTest::addColumn<QString>("id");
    QTest::addColumn<QStringList>("extra");
    const QString a = net("tiny-controlnet-a");
    {
      const QJsonObject g = set().case_of("cn_edges_euler_a_s1.0");
      QTest::newRow("one net, folder")
          << "cn_edges_euler_a_s1.0"
          << QStringList{"--control", "model=" + a + ",image=" + control_picture(g, 0)};
      QTest::newRow("one net, single file")
          << "cn_edges_euler_a_s1.0"
          << QStringList{"--control",
                         "model=" + a + ".safetensors,image=" + control_picture(g, 0) + ",scale=1"};
    }
    {
      const QJsonObject g = set().case_of("cn_multi_edges_scribble_euler_a");
      QTest::newRow("two nets") << "cn_multi_edges_scribble_euler_a"
                                << QStringList{"--control",
                                               "model=" + a + ",image=" + control_picture(g, 0),
                                               "--control",
                                               "model=" + net("tiny-controlnet-b") +
                                                   ",image=" + control_picture(g, 1) +
                                                   ",scale=0.6,start=0.2,end=0.8"};
    }
    {
      const QJsonObject g = set().case_of("cn_edges_euler_guess_mode");
      QTest::newRow("guess mode") << "cn_edges_euler_guess_mode"
                                  << QStringList{"--control",
                                                 "model=" + a + ",image=" + control_picture(g, 0),
                                                 "--control-guess-mode"};
    }
    {
      const QJsonObject g = set().case_of("cn_edges_euler_guidance1_default_size");
      QTest::newRow("size of the control picture")
          << "cn_edges_euler_guidance1_default_size"
          << QStringList{"--control", "model=" + a + ",image=" + control_picture(g, 0)};
    }
    {
      const QJsonObject g = set().case_of("cn_img2img_euler_s0.75");
      const QJsonObject in = g.value("inputs").toObject();
      QTest::newRow("image to image, default scale 0.8")
          << "cn_img2img_euler_s0.75"
          << QStringList{"--control",    "model=" + a + ",image=" + control_picture(g, 0),
                         "--init-image", test::controlnet_file(in.value("image_png").toString()),
                         "--strength",   "0.75"};
    }
  }

  void generateMatchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(QStringList, extra);
    const QJsonObject golden = set().case_of(id);
    QTemporaryDir dir;
    const QString out = dir.filePath("out.png");
    const auto run = test::run_cli(case_arguments(golden) + extra + QStringList{"--out", out});
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    const auto expected = set().tensor(golden.value("outputs")
                                           .toObject()
                                           .value("image_uint8")
                                           .toObject()
                                           .value("file")
                                           .toString());
    const auto pixels = png_pixels(out);
    QCOMPARE(pixels.sizes(), expected.sizes());
    const double difference = test::max_abs_difference(pixels, expected);
    QVERIFY2(
        difference <= golden.value("tolerance").toObject().value("uint8_max_abs_diff").toDouble(),
        qPrintable(QString("pixels differ by %1").arg(difference)));
    // The web UI's entries, one per net, read back to the same settings.
    std::string parameters;
    for (const auto& [keyword, text] : image::read_png_text_file(out.toStdString()))
      if (keyword == image::kParametersChunk) parameters = text;
    const auto parsed = image::parse_parameters(parameters);
    const api::GenerationRequest empty;  // named: GCC 12 warns falsely about a braced temporary
    const auto result = parsed.to_result(empty);
    const int nets = golden.value("inputs").toObject().value("controlnets").toArray().size();
    QCOMPARE(result.controlnets.size(), static_cast<size_t>(nets));
    QVERIFY(result.controlnets[0].name.rfind("tiny-controlnet-a", 0) == 0);
    QCOMPARE(result.controlnets[0].hash.size(), size_t{8});
    QCOMPARE(result.request.control_guess_mode,
             golden.value("inputs").toObject().value("guess_mode").toBool());
  }

  void preprocessWritesOpenCvsCanny() {
    QTemporaryDir dir;
    const QString out = dir.filePath("canny.png");
    const auto run = test::run_cli({"preprocess", "--preprocessor", "canny", "--image",
                                    test::controlnet_file("inputs/canny_image_b_h48_w80.png"),
                                    "--low", "50", "--high", "150", "--out", out});
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    const auto map = png_pixels(out);
    const auto expected = set().tensor("canny/canny_rgb_image_b_h48_w80_lo50_hi150.npy");
    for (int c = 0; c < 3; ++c) QVERIFY(torch::equal(map[0].select(2, c), expected));
    const auto again =
        test::run_cli({"preprocess", "--preprocessor", "canny", "--image",
                       test::controlnet_file("inputs/canny_image_b_h48_w80.png"), "--out", out});
    QVERIFY(again.exit_code != 0 && again.err.contains("--overwrite"));
  }

  void refusesWhatCannotRun_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("expected");
    const QString picture = test::controlnet_file("inputs/edges_a_64_64.png");
    const QString a = net("tiny-controlnet-a");
    const QStringList sd2{"generate", "--model", test::data_path("sd2/tiny-sd2"), "--prompt", "x",
                          "--steps",  "1"};
    const QStringList sd{"generate", "--model", test::data_path("tiny-sd"), "--prompt", "x",
                         "--steps",  "1"};
    QTest::newRow("another family")
        << sd2 + QStringList{"--control", "model=" + a + ",image=" + picture}
        << "Stable Diffusion 2.x";
    QTest::newRow("no picture") << sd + QStringList{"--control", "model=" + a}
                                << "image=FILE is missing";
    QTest::newRow("unknown key") << sd + QStringList{"--control", "model=" + a + ",image=" +
                                                                      picture + ",weight=1"}
                                 << "unknown key \"weight\"";
    QTest::newRow("bad number") << sd + QStringList{"--control",
                                                    "model=" + a + ",image=" + picture + ",scale=x"}
                                << "scale=x is not a number";
    QTest::newRow("window") << sd + QStringList{"--control", "model=" + a + ",image=" + picture +
                                                                 ",start=0.9,end=0.1"}
                            << "start 0.9 and end 0.1";
    QTest::newRow("missing model")
        << sd + QStringList{"--control", "model=/no/such/net,image=" + picture} << "does not exist";
    QTest::newRow("guess mode alone")
        << sd + QStringList{"--control-guess-mode"} << "needs --control";
  }

  void refusesWhatCannotRun() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const auto run = test::run_cli(arguments + QStringList{"--out", dir.filePath("x.png")});
    QCOMPARE(run.exit_code, 1);
    QVERIFY2(run.err.contains(expected), qPrintable(run.err));
  }
};

QTEST_GUILESS_MAIN(TestCliControlNet)
#include "tst_cli_controlnet.moc"
