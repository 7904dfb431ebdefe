// latentstudio-cli info, run as a user runs it: a model that loads is described with its
// family; one that would not load is refused with the message loading gives (and the
// family its configs name), so info never passes a model that generate then refuses.
#include <QtTest/QtTest>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/io/safetensors.h"
#include "core/pipeline/model_bundle.h"
#include "core/util/error.h"
#include "tests/support/cli_process.h"
#include "tests/support/file_tree.h"
#include "tests/support/golden.h"

using latent::test::data_path;
using latent::test::run_cli;

namespace {

using TensorList = std::vector<std::pair<std::string, torch::Tensor>>;

void replace_file(const QString& path, const QString& replacement) {
  QVERIFY(QFile::remove(path));
  QVERIFY(QFile::copy(replacement, path));
}

// Rewrites the safetensors file at `path` with `change` applied to its tensors.
void rewrite_tensors(const QString& path, const std::function<void(TensorList&)>& change) {
  TensorList tensors;
  {
    const latent::io::SafetensorsFile file(path.toStdString());
    for (const auto& info : file.tensors()) tensors.emplace_back(info.name, file.tensor(info.name).clone());
  }  // unmapped before the file is replaced
  change(tensors);
  latent::io::write_safetensors(path.toStdString(), tensors);
}

torch::Tensor& tensor_named(TensorList& tensors, const std::string& name) {
  for (auto& [key, tensor] : tensors)
    if (key == name) return tensor;
  throw std::runtime_error("no tensor " + name);
}

// What loading says of the model at `path`, as generate would load it; "" when it loads.
QString load_error(const QString& path) {
  latent::api::LoadOptions options;
  options.model_path = path.toStdString();
  options.dtype = "bf16";
  try {
    latent::pipeline::load_model_bundle(options);
  } catch (const latent::Error& error) {
    return QString::fromStdString(error.what());
  }
  return {};
}

// The ways a copy of tests/data/tiny-sd is broken in refusesAModelThatWillNotLoad.
enum class Breakage { missing_tensor, misshaped_tensor, sdxl_configs };

const char* const kUnetWeights = "unet/diffusion_pytorch_model.safetensors";

void break_model(const QString& dir, Breakage breakage) {
  const QString unet = QDir(dir).filePath(kUnetWeights);
  switch (breakage) {
    case Breakage::missing_tensor:
      rewrite_tensors(unet, [](TensorList& tensors) {
        tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                     [](const auto& item) { return item.first == "conv_norm_out.weight"; }),
                      tensors.end());
      });
      break;
    case Breakage::misshaped_tensor:
      rewrite_tensors(unet, [](TensorList& tensors) {
        torch::Tensor& weight = tensor_named(tensors, "conv_in.weight");
        weight = weight.narrow(0, 0, weight.size(0) - 1).contiguous();
      });
      break;
    case Breakage::sdxl_configs:
      // The configs of an SDXL base model over SD 1.x weights: read as SDXL, loaded as SDXL.
      replace_file(QDir(dir).filePath("unet/config.json"), data_path("families/sdxl/unet/config.json"));
      replace_file(QDir(dir).filePath("text_encoder/config.json"),
                   data_path("families/sdxl/text_encoder/config.json"));
      break;
  }
}

}  // namespace

Q_DECLARE_METATYPE(Breakage)

class TestCliInfo : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void describesAModelThatLoads_data() {
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("family");
    QTest::newRow("diffusers folder") << QStringList{"--model", data_path("tiny-sd")} << "Stable Diffusion 1.x";
    QTest::newRow("single file with its configs")
        << QStringList{"--model", data_path("tiny-sd.safetensors"), "--config-dir", data_path("tiny-sd")}
        << "Stable Diffusion 1.x";
    QTest::newRow("SDXL base") << QStringList{"--model", data_path("sdxl/tiny-sdxl")} << "SDXL base";
    QTest::newRow("SDXL refiner") << QStringList{"--model", data_path("sdxl/tiny-sdxl-refiner")} << "SDXL refiner";
    QTest::newRow("SD 2.x folder") << QStringList{"--model", data_path("sd2/tiny-sd2")} << "Stable Diffusion 2.x";
    QTest::newRow("SD 2.x single file (OpenCLIP keys) with its configs")
        << QStringList{"--model", data_path("sd2/tiny-sd2.safetensors"), "--config-dir", data_path("sd2/tiny-sd2")}
        << "Stable Diffusion 2.x";
  }

  void describesAModelThatLoads() {
    QFETCH(QStringList, arguments);
    QFETCH(QString, family);
    const auto run = run_cli(QStringList{"info"} + arguments);
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    QVERIFY2(run.out.contains("family:   " + family + "\n"), qPrintable(run.out));
    QVERIFY2(run.out.contains("loads:    yes"), qPrintable(run.out));
    QVERIFY2(!run.out.contains("warning:"), qPrintable(run.out));
  }

  void refusesAModelThatWillNotLoad_data() {
    QTest::addColumn<Breakage>("breakage");
    QTest::addColumn<QString>("family");
    QTest::newRow("a tensor missing") << Breakage::missing_tensor << "Stable Diffusion 1.x";
    QTest::newRow("a tensor of the wrong shape") << Breakage::misshaped_tensor << "Stable Diffusion 1.x";
    QTest::newRow("SDXL configs") << Breakage::sdxl_configs << "SDXL base";
  }

  void refusesAModelThatWillNotLoad() {
    QFETCH(Breakage, breakage);
    QFETCH(QString, family);
    QTemporaryDir temp;
    const QString model = temp.filePath("broken");
    QVERIFY(latent::test::copy_tree(data_path("tiny-sd"), model));
    break_model(model, breakage);
    if (QTest::currentTestFailed()) return;

    const QString loaderMessage = load_error(model);
    QVERIFY2(!loaderMessage.isEmpty(), "the broken copy loads: the case tests nothing");
    const auto run = run_cli({"info", "--model", model});
    QCOMPARE(run.exit_code, 1);
    const QString expected = "this " + family + " model will not load: " + loaderMessage;
    QVERIFY2(run.err.contains(expected), qPrintable("expected '" + expected + "' in:\n" + run.err));
    QVERIFY2(!run.out.contains("family:"), qPrintable(run.out));  // no summary of a refused model
  }

  // Loading skips tensors no network has; info says so and still passes the model.
  void warnsOfTensorsNoNetworkUses() {
    QTemporaryDir temp;
    const QString model = temp.filePath("extra");
    QVERIFY(latent::test::copy_tree(data_path("tiny-sd"), model));
    rewrite_tensors(QDir(model).filePath(kUnetWeights),
                    [](TensorList& tensors) { tensors.emplace_back("extra.weight", torch::zeros({2})); });
    QCOMPARE(load_error(model), QString());

    const auto run = run_cli({"info", "--model", model});
    QVERIFY2(run.exit_code == 0, qPrintable(run.err));
    QVERIFY2(run.out.contains("warning: 1 tensors of the files belong to no network"), qPrintable(run.out));
    QVERIFY2(run.out.contains("unet: extra.weight"), qPrintable(run.out));
  }
};

QTEST_GUILESS_MAIN(TestCliInfo)
#include "tst_cli_info.moc"
