// make-random-model's folders (core/pipeline/random_model.h): the SDXL ones are 7 GB, so the
// layout is checked instead, by writing everything but the weights, standing in a tiny
// weights file for each network and opening the folder as the loader does. The configs,
// tokenizers and folder names are the ones write_random_model writes; the weights are
// LibTorch's modules of those configs, as for sd15.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include <torch/torch.h>

#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/pipeline/random_model.h"
#include "core/text/clip_tokenizer.h"
#include "core/util/error.h"

namespace pipeline = latent::pipeline;
namespace io = latent::io;

class TestRandomModel : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void opensAsItsFamily_data() {
    QTest::addColumn<QString>("config");
    QTest::addColumn<QString>("family");
    QTest::addColumn<QStringList>("encoders");
    QTest::newRow("sd15") << "sd15" << "Stable Diffusion 1.x" << QStringList{"text_encoder"};
    QTest::newRow("sd21-768") << "sd21-768" << "Stable Diffusion 2.x" << QStringList{"text_encoder"};
    QTest::newRow("sdxl") << "sdxl" << "SDXL base" << QStringList{"text_encoder", "text_encoder_2"};
    QTest::newRow("sdxl-refiner") << "sdxl-refiner" << "SDXL refiner" << QStringList{"text_encoder_2"};
  }

  void opensAsItsFamily() {
    QFETCH(QString, config);
    QFETCH(QString, family);
    QFETCH(QStringList, encoders);
    QTemporaryDir dir;
    pipeline::RandomModelOptions options;
    options.config = config.toStdString();
    options.out_dir = dir.filePath("model").toStdString();
    pipeline::write_random_model_configs(options);
    for (const auto& component : pipeline::random_model_layout(options.config).components) {
      const std::string file = pipeline::random_model_weights_file(component, options.dtype);
      io::write_safetensors(options.out_dir + "/" + component.folder + "/" + file,
                            {{"placeholder", torch::zeros({1}, torch::kFloat16)}}, {{"format", "pt"}});
    }
    const io::ModelFiles files = io::open_model(options.out_dir);
    QCOMPARE(QString::fromStdString(io::family_name(files.family)), family);
    QStringList opened;
    for (const auto& encoder : files.text_encoders) opened << QString::fromStdString(encoder.name);
    QCOMPARE(opened, encoders);
    // SD 2.x: the 768-v model predicts v, and its tokenizer pads with "!" (OpenCLIP's).
    if (config == "sd21-768") {
      QCOMPARE(files.scheduler_config.value("prediction_type").toString(), QString("v_prediction"));
      QCOMPARE(files.unet_config.value("sample_size").toInt(), 96);
      QCOMPARE(latent::text::ClipTokenizer::from_folder(files.text_encoders.front().tokenizer_dir).pad_id(), int64_t(0));
    }
  }

  void refusesAnUnknownConfig() {
    try {
      pipeline::random_model_layout("sd3");
      QFAIL("no error");
    } catch (const latent::Error& error) {
      QCOMPARE(QString(error.what()), QString("unknown model config 'sd3': use sd15, sd21-768, sdxl, sdxl-refiner"));
    }
  }
};

QTEST_GUILESS_MAIN(TestRandomModel)
#include "tst_random_model.moc"
