// write_file_atomically on a full disk: the error says so, no temporary file stays behind and
// an earlier file of the same name is left as it was. (Qt's buffered QSaveFile used to commit
// the part that fitted and report success.)
#include <QtTest/QtTest>

#include <sys/resource.h>

#include <csignal>
#include <vector>

#include "core/image/png_metadata.h"
#include "core/util/error.h"
#include "tests/support/test_files.h"

using latent::test::FileSizeLimit;

class TestAtomicWrite : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void fullDiskLeavesNothingHalfWritten_data();
  void fullDiskLeavesNothingHalfWritten();
};

void TestAtomicWrite::fullDiskLeavesNothingHalfWritten_data() {
  QTest::addColumn<bool>("earlierFile");
  QTest::newRow("new file") << false;
  QTest::newRow("replacing a file") << true;
}

void TestAtomicWrite::fullDiskLeavesNothingHalfWritten() {
  QFETCH(bool, earlierFile);
  QTemporaryDir dir;
  const QString path = dir.filePath("image.png");
  const std::vector<unsigned char> earlier = {'o', 'l', 'd'};
  if (earlierFile) latent::image::write_file_atomically(path.toStdString(), earlier);
  const std::vector<unsigned char> bytes(64 * 1024, 0x5a);
  QString message;
  {
    FileSizeLimit full(4096);
    QVERIFY(full.ok());
    try {
      latent::image::write_file_atomically(path.toStdString(), bytes);
    } catch (const latent::Error& error) {
      message = QString::fromUtf8(error.what());
    }
  }
  QVERIFY2(message.contains(path) && message.contains("4096 of 65536 bytes") && message.contains("disk full"),
           qPrintable(message));
  const QStringList left = QDir(dir.path()).entryList(QDir::Files | QDir::Hidden | QDir::NoDotAndDotDot);
  if (earlierFile) {
    QCOMPARE(left, QStringList{"image.png"});
    QFile file(path);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readAll(), QByteArray("old"));
  } else {
    QVERIFY2(left.isEmpty(), qPrintable(left.join(", ")));
  }
  // With room again, the same call writes the whole file.
  latent::image::write_file_atomically(path.toStdString(), bytes);
  QCOMPARE(QFileInfo(path).size(), qint64(bytes.size()));
}

QTEST_GUILESS_MAIN(TestAtomicWrite)
#include "tst_atomic_write.moc"
