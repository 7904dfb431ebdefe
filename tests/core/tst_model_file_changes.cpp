// A model file that changes on disk while it is mapped is noticed before its bytes are used:
// by size, and by modification time when the size stays the same. Loading checks before each
// component's weights are copied in and once more at the end, and says which file changed.
// Loading again after a change uses the new weights, not the ones read before.
#include <QtTest/QtTest>

#include "core/io/model_files.h"
#include "core/io/safetensors.h"
#include "core/pipeline/engine.h"
#include "core/util/error.h"
#include "tests/support/file_tree.h"
#include "tests/support/golden.h"

namespace {

// Rewrites the file in place with the same bytes and a later modification time.
void rewrite_same_size(const QString& path) {
  QFile file(path);
  QVERIFY(file.open(QIODevice::ReadWrite));
  const QByteArray first = file.read(16);
  QVERIFY(file.seek(0));
  QCOMPARE(file.write(first), qint64(first.size()));
  file.close();
  QFile touched(path);
  QVERIFY(touched.open(QIODevice::ReadWrite));
  QVERIFY(touched.setFileTime(QDateTime::currentDateTime().addSecs(5), QFileDevice::FileModificationTime));
}

// Rewrites the safetensors file at `path` with `name` shifted by `delta` and every other
// tensor as it was: the same size, other bytes (written beside it and renamed into place).
void shift_tensor(const QString& path, const std::string& name, float delta) {
  const latent::io::SafetensorsFile file(path.toStdString());
  QVERIFY(file.contains(name));
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& info : file.tensors()) {
    torch::Tensor tensor = file.tensor(info.name).clone();
    if (info.name == name) tensor += delta;
    tensors.emplace_back(info.name, tensor);
  }
  latent::io::write_safetensors(path.toStdString(), tensors, file.metadata());
}

// One small picture from the model at `model_path`, loaded into `engine`.
std::vector<uint8_t> picture_of(latent::pipeline::Engine& engine, const QString& model_path) {
  latent::api::LoadOptions options;
  options.model_path = model_path.toStdString();
  engine.load(options);
  latent::api::GenerationRequest request;
  request.prompt = "a lighthouse at dusk";
  request.size.width = request.size.height = 64;
  request.sampling.steps = 2;
  request.sampling.seed = 11;
  request.sampling.sampler = "euler";
  request.preview.approximate = false;
  request.preview.vae_every = 0;
  const auto result = engine.generate(request);
  return result.images.empty() ? std::vector<uint8_t>{} : result.images.front().rgb;
}

QString error_of(const latent::io::ModelFiles& files) {
  try {
    files.check_unchanged_on_disk();
  } catch (const latent::Error& error) {
    return QString::fromUtf8(error.what());
  }
  return {};
}

}  // namespace

class TestModelFileChanges : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void changeIsDetectedBeforeUse_data();
  void changeIsDetectedBeforeUse();
  void engineLoadsTheNewFileAfterAChange();
  void reloadingAfterAChangeUsesTheNewWeights();
};

void TestModelFileChanges::changeIsDetectedBeforeUse_data() {
  QTest::addColumn<bool>("singleFile");
  QTest::addColumn<QString>("change");
  QTest::newRow("folder, file replaced") << false << "replaced";
  QTest::newRow("folder, rewritten in place") << false << "rewritten";
  QTest::newRow("folder, truncated") << false << "truncated";
  QTest::newRow("single file, replaced") << true << "replaced";
  QTest::newRow("single file, rewritten in place") << true << "rewritten";
}

void TestModelFileChanges::changeIsDetectedBeforeUse() {
  QFETCH(bool, singleFile);
  QFETCH(QString, change);
  QTemporaryDir dir;
  QString model, changed, config_dir;
  if (singleFile) {
    model = dir.filePath("tiny.safetensors");
    QVERIFY(QFile::copy(latent::test::data_path("tiny-sd.safetensors"), model));
    changed = model;
    config_dir = latent::test::data_path("tiny-sd");
  } else {
    model = dir.filePath("tiny-sd");
    QVERIFY(latent::test::copy_tree(latent::test::data_path("tiny-sd"), model));
    changed = model + "/unet/diffusion_pytorch_model.safetensors";
  }
  const auto files = latent::io::open_model(model.toStdString(), config_dir.toStdString());
  QVERIFY(files.unchanged_on_disk());
  QVERIFY(error_of(files).isEmpty());

  if (change == "replaced") {
    QVERIFY(QFile::remove(changed));
    QVERIFY(QFile::copy(latent::test::data_path("tiny-sd-full.safetensors"), changed));
  } else if (change == "rewritten") {
    rewrite_same_size(changed);
  } else {
    QVERIFY(QFile::resize(changed, QFileInfo(changed).size() / 2));
  }
  QVERIFY(!files.unchanged_on_disk());
  const QString message = error_of(files);
  QVERIFY2(message.contains(QFileInfo(changed).fileName()) && message.contains("changed on disk"),
           qPrintable(message));
}

void TestModelFileChanges::engineLoadsTheNewFileAfterAChange() {
  // Opening afresh after a change is fine: the check guards one load, it does not refuse files.
  QTemporaryDir dir;
  const QString model = dir.filePath("tiny-sd");
  QVERIFY(latent::test::copy_tree(latent::test::data_path("tiny-sd"), model));
  rewrite_same_size(model + "/vae/diffusion_pytorch_model.safetensors");
  latent::pipeline::Engine engine;
  latent::api::LoadOptions options;
  options.model_path = model.toStdString();
  engine.load(options);
  QVERIFY(engine.is_loaded());
}

void TestModelFileChanges::reloadingAfterAChangeUsesTheNewWeights() {
  // A folder model is generated from, then its UNet file is replaced by one whose conv_out
  // bias (the last layer of the noise prediction) is shifted; loaded again, it must draw with
  // the new bias: not the picture from before, and exactly the picture of a model that had
  // the changed file from the start.
  QTemporaryDir dir;
  const QString model = dir.filePath("tiny-sd");
  QVERIFY(latent::test::copy_tree(latent::test::data_path("tiny-sd"), model));
  const QString unet = model + "/unet/diffusion_pytorch_model.safetensors";
  latent::pipeline::Engine before;
  const std::vector<uint8_t> old_picture = picture_of(before, model);
  QVERIFY(!old_picture.empty());

  shift_tensor(unet, "conv_out.bias", 0.25f);
  latent::pipeline::Engine reloaded;
  const std::vector<uint8_t> new_picture = picture_of(reloaded, model);
  QCOMPARE(new_picture.size(), old_picture.size());
  QVERIFY2(new_picture != old_picture, "the picture after the change is the one from before it");

  const QString fresh = dir.filePath("fresh");
  QVERIFY(latent::test::copy_tree(model, fresh));
  latent::pipeline::Engine reference;
  QVERIFY2(picture_of(reference, fresh) == new_picture,
           "the reloaded model draws otherwise than a fresh copy of the changed files");
}

QTEST_GUILESS_MAIN(TestModelFileChanges)
#include "tst_model_file_changes.moc"
