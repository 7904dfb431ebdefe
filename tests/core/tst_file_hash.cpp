#include <QtTest/QtTest>

#include <QCryptographicHash>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <chrono>
#include <thread>

#include "core/util/file_hash.h"

using latent::util::cached_sha256;

namespace {

std::string write_file(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) return {};
  file.write(bytes);
  file.close();
  return path.toStdString();
}

std::string sha256_hex(const QByteArray& bytes) {
  return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex().toStdString();
}

// Replaces every remembered digest with `fake`, so a later answer of `fake` proves the
// cache was used rather than the file read again.
void poison_cache(const QString& fake) {
  const QString path = QString::fromStdString(latent::util::file_hash_cache_path());
  QFile file(path);
  QVERIFY(file.open(QIODevice::ReadOnly));
  QJsonObject cache = QJsonDocument::fromJson(file.readAll()).object();
  file.close();
  QVERIFY(!cache.isEmpty());
  for (auto it = cache.begin(); it != cache.end(); ++it) {
    QJsonObject entry = it.value().toObject();
    entry.insert("sha256", fake);
    it.value() = entry;
  }
  QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
  file.write(QJsonDocument(cache).toJson());
}

}  // namespace

class TestFileHash : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void init();
  void hashesLikeSha256();
  void concatenatesSeveralFiles();
  void remembersAnUnchangedFile();
  void rehashesAChangedFile();
  void missingFileGivesNothing();
};

void TestFileHash::initTestCase() { QStandardPaths::setTestModeEnabled(true); }

void TestFileHash::init() { QFile::remove(QString::fromStdString(latent::util::file_hash_cache_path())); }

void TestFileHash::hashesLikeSha256() {
  QTemporaryDir dir;
  const QByteArray bytes = QByteArray("latent studio ").repeated(100000);
  const auto path = write_file(dir.filePath("a.bin"), bytes);
  QCOMPARE(cached_sha256({path}), sha256_hex(bytes));
  QCOMPARE(latent::util::sha256_of_files({path}), sha256_hex(bytes));
  QCOMPARE(cached_sha256({path}), sha256_hex(bytes));  // from the cache now
}

void TestFileHash::concatenatesSeveralFiles() {
  QTemporaryDir dir;
  const auto a = write_file(dir.filePath("a.bin"), "first part,");
  const auto b = write_file(dir.filePath("b.bin"), "second part");
  QCOMPARE(cached_sha256({a, b}), sha256_hex("first part,second part"));
  QCOMPARE(cached_sha256({b, a}), sha256_hex("second partfirst part,"));
}

void TestFileHash::remembersAnUnchangedFile() {
  QTemporaryDir dir;
  const auto path = write_file(dir.filePath("model.safetensors"), "weights");
  QCOMPARE(cached_sha256({path}), sha256_hex("weights"));
  const QString fake(64, QChar('f'));
  poison_cache(fake);
  QCOMPARE(QString::fromStdString(cached_sha256({path})), fake);
}

void TestFileHash::rehashesAChangedFile() {
  QTemporaryDir dir;
  const QString name = dir.filePath("model.safetensors");
  const auto path = write_file(name, "weights");
  QCOMPARE(cached_sha256({path}), sha256_hex("weights"));
  poison_cache(QString(64, QChar('f')));
  // Same size, new contents and modification time.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_file(name, "WEIGHTS");
  QCOMPARE(cached_sha256({path}), sha256_hex("WEIGHTS"));
  // A different size is a different key as well.
  write_file(name, "weights, retrained");
  QCOMPARE(cached_sha256({path}), sha256_hex("weights, retrained"));
}

void TestFileHash::missingFileGivesNothing() {
  QTemporaryDir dir;
  QCOMPARE(cached_sha256({dir.filePath("absent.safetensors").toStdString()}), std::string());
}

QTEST_GUILESS_MAIN(TestFileHash)
#include "tst_file_hash.moc"
