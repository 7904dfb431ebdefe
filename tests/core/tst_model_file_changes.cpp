// A model file that changes on disk while it is mapped is noticed before its bytes are used:
// by size, and by modification time when the size stays the same. Loading checks before each
// component's weights are copied in and once more at the end, and says which file changed.
#include <QtTest/QtTest>

#include "core/io/model_files.h"
#include "core/pipeline/engine.h"
#include "core/util/error.h"
#include "tests/support/golden.h"

namespace {

void copy_tree(const QString& from, const QString& to) {
  QDir().mkpath(to);
  for (const QFileInfo& entry : QDir(from).entryInfoList(QDir::Dirs | QDir::Files | QDir::NoDotAndDotDot)) {
    const QString target = QDir(to).filePath(entry.fileName());
    if (entry.isDir()) {
      copy_tree(entry.filePath(), target);
    } else {
      QVERIFY(QFile::copy(entry.filePath(), target));
    }
  }
}

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
    copy_tree(latent::test::data_path("tiny-sd"), model);
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
  copy_tree(latent::test::data_path("tiny-sd"), model);
  rewrite_same_size(model + "/vae/diffusion_pytorch_model.safetensors");
  latent::pipeline::Engine engine;
  latent::pipeline::LoadOptions options;
  options.model_path = model.toStdString();
  engine.load(options);
  QVERIFY(engine.is_loaded());
}

QTEST_GUILESS_MAIN(TestModelFileChanges)
#include "tst_model_file_changes.moc"
