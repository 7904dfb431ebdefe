// A gallery folder as people's folders are: corrupt PNGs, files that only claim to be images,
// a PNG header claiming 100000×100000 pixels, and files that vanish while they are being
// listed and read. Each is skipped or shown broken; nothing crashes and the GUI thread keeps
// answering while the thumbnails load: it never reads a file itself (listing a folder and
// asking for thumbnails return before any is read; the reads come back through its event loop).
// The gallery's own cache files are outside data too: a damaged thumbnail or index file is
// ignored and made again, and a cache folder that cannot be written leaves a working gallery.
#include <QtTest/QtTest>

#include <QAbstractItemModelTester>

#include "core/image/png_metadata.h"
#include "tests/support/timing.h"
#include "ui/gallery_index.h"
#include "ui/gallery_model.h"
#include "ui/thumbnail_cache.h"
#include "ui/thumbnail_cache_record.h"
#include "ui/thumbnail_loader.h"

using latent::ui::GalleryModel;
using latent::ui::ThumbnailCache;
using latent::ui::ThumbnailLoader;

namespace {

QByteArray bigEndian(quint32 value) {
  QByteArray out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = char(value >> (24 - 8 * i));
  return out;
}

// The CRC-32 that PNG chunks carry (ISO 3309, bit by bit: speed does not matter here).
quint32 pngCrc(const QByteArray& bytes) {
  quint32 crc = 0xffffffffu;
  for (const char byte : bytes) {
    crc ^= quint8(byte);
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
  }
  return ~crc;
}

QByteArray chunk(const char* type, const QByteArray& body) {
  const QByteArray typed = QByteArray(type, 4) + body;
  const quint32 crc = pngCrc(typed);
  return bigEndian(quint32(body.size())) + typed + bigEndian(crc);
}

// A well-formed PNG header (valid CRCs) for an RGB image of the given size, with one small
// IDAT: a decoder that trusts the header would try to allocate width × height × 4 bytes.
QByteArray pngClaiming(quint32 width, quint32 height) {
  QByteArray ihdr = bigEndian(width) + bigEndian(height);
  ihdr += QByteArray::fromHex("0802000000");  // 8-bit RGB, deflate, no filter, no interlace
  QByteArray idat = qCompress(QByteArray(64, '\0')).mid(4);  // a zlib stream of zero rows
  return QByteArray::fromHex("89504e470d0a1a0a") + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", {});
}

QByteArray smallPng(int side, const std::string& prompt) {
  latent::api::Image image;
  image.width = image.height = side;
  image.rgb.assign(size_t(side) * side * 3, 128);
  const auto bytes = latent::image::encode_png(image, {{"parameters", prompt + "\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 48x48"}});
  return QByteArray(reinterpret_cast<const char*>(bytes.data()), qsizetype(bytes.size()));
}

void writeFile(const QString& path, const QByteArray& bytes) {
  QFile file(path);
  QVERIFY2(file.open(QIODevice::WriteOnly), qPrintable(path));
  QCOMPARE(file.write(bytes), bytes.size());
}

int loadedCount(const GalleryModel& model) {
  int loaded = 0;
  for (int row = 0; row < model.rowCount(); ++row)
    if (model.index(row).data(GalleryModel::LoadedRole).toBool()) ++loaded;
  return loaded;
}

bool allLoaded(const GalleryModel& model) { return loadedCount(model) == model.rowCount(); }

// Every row's thumbnail has been made or read once it is asked for, as a view showing them all would.
bool allThumbnailsShown(const GalleryModel& model) {
  for (int row = 0; row < model.rowCount(); ++row) {
    const QModelIndex index = model.index(row);
    (void)index.data(Qt::DecorationRole);
    if (!index.data(GalleryModel::ThumbnailReadyRole).toBool() && !index.data(GalleryModel::BrokenRole).toBool())
      return false;
  }
  return true;
}

QByteArray readAll(const QString& path) {
  QFile file(path);
  return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QByteArray flipped(QByteArray bytes, qsizetype at) {
  bytes[at] = char(bytes[at] ^ 0x40);
  return bytes;
}

}  // namespace

class TestGalleryFaults : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void hugeHeaderIsRefusedQuickly();
  void badFilesAreShownBrokenAndGoodOnesLoad();
  void filesVanishingWhileListedNeverCrash();
  void damagedRecordsAndIndexesAreRefused();
  void damagedCacheFilesAreIgnoredAndMadeAgain();
  void unwritableCacheStillShowsThePictures();
};

void TestGalleryFaults::hugeHeaderIsRefusedQuickly() {
  QTemporaryDir dir;
  const QString path = dir.filePath("huge.png");
  writeFile(path, pngClaiming(100000, 100000));
  const auto info = ThumbnailLoader::load(path, GalleryModel::kThumbnailSize);
  QVERIFY(info.broken);
  QVERIFY(info.thumbnail.isNull());
  // Refused from its header: less work than the thumbnail of a real 1024×1024 picture, where
  // a decoder that trusted the header would allocate or walk 100000 rows.
  const QString real = dir.filePath("real.png");
  QImage picture(1024, 1024, QImage::Format_RGB888);
  quint32 noise = 1;  // pixels that do not compress away, as a photograph's
  for (int y = 0; y < picture.height(); ++y)
    for (int x = 0; x < picture.bytesPerLine(); ++x)
      picture.scanLine(y)[x] = uchar((noise = noise * 1664525u + 1013904223u) >> 24);
  QVERIFY(picture.save(real));
  constexpr int kSize = GalleryModel::kThumbnailSize;
  QVERIFY(!ThumbnailLoader::load(real, kSize).broken);
  const double refusing = latent::test::fastest_seconds(3, [&] { ThumbnailLoader::load(path, kSize); });
  const double loading = latent::test::fastest_seconds(3, [&] { ThumbnailLoader::load(real, kSize); });
  qInfo("refusing the huge header: %.5f s, a 1024x1024 thumbnail: %.5f s", refusing, loading);
  QVERIFY2(refusing < loading, "refusing the huge header took longer than a real thumbnail");
}

void TestGalleryFaults::badFilesAreShownBrokenAndGoodOnesLoad() {
  QTemporaryDir dir;
  const QByteArray good = smallPng(48, "a quiet harbour");
  writeFile(dir.filePath("00001-1.png"), good);
  writeFile(dir.filePath("huge.png"), pngClaiming(100000, 100000));
  writeFile(dir.filePath("wide.png"), pngClaiming(0x7fffffff, 1));
  QByteArray badCrc = good;
  badCrc[30] = char(badCrc[30] ^ 0xff);  // inside IHDR: its CRC no longer matches
  writeFile(dir.filePath("bad-crc.png"), badCrc);
  writeFile(dir.filePath("header-only.png"), good.left(8));
  writeFile(dir.filePath("text.png"), "This is a shopping list, not a picture.\n");
  writeFile(dir.filePath("noise.jpg"), QByteArray(3000, '\xff'));
  QVERIFY(QDir(dir.path()).mkdir("folder.png"));  // a folder with an image's name is skipped
  QVERIFY(QFile::link(dir.filePath("missing-target.png"), dir.filePath("dangling.png")));

  QTemporaryDir cache;
  GalleryModel model;
  model.setCacheFolder(cache.path());
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  model.setFolder(dir.path());
  QCOMPARE(loadedCount(model), 0);  // read on other threads, not while listing
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 20000);
  QStringList names, broken;
  for (int row = 0; row < model.rowCount(); ++row) {
    const QModelIndex index = model.index(row);
    names << index.data(GalleryModel::FileNameRole).toString();
    if (index.data(GalleryModel::BrokenRole).toBool()) broken << names.last();
    QVERIFY(!index.data(Qt::DecorationRole).value<QPixmap>().isNull());
  }
  names.sort();
  broken.sort();
  QCOMPARE(names, (QStringList{"00001-1.png", "bad-crc.png", "header-only.png", "huge.png", "noise.jpg",
                               "text.png", "wide.png"}));
  QCOMPARE(broken, (QStringList{"bad-crc.png", "header-only.png", "huge.png", "noise.jpg", "text.png", "wide.png"}));
  const QModelIndex harbour = model.index(model.rowOfPath(QDir(dir.path()).absoluteFilePath("00001-1.png")));
  QCOMPARE(harbour.data(GalleryModel::PromptRole).toString(), QStringLiteral("a quiet harbour"));
}

void TestGalleryFaults::filesVanishingWhileListedNeverCrash() {
  QTemporaryDir dir;
  const QByteArray png = smallPng(256, "a field of poppies");
  constexpr int kFiles = 120;
  for (int i = 0; i < kFiles; ++i) writeFile(dir.filePath(QStringLiteral("%1.png").arg(i, 4, 10, QLatin1Char('0'))), png);

  QTemporaryDir cache;
  GalleryModel model;
  model.setCacheFolder(cache.path());
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  model.setFolder(dir.path());
  QCOMPARE(model.rowCount(), kFiles);
  QCOMPARE(loadedCount(model), 0);  // listed at once, read on other threads
  // Remove every other file while the thumbnails are being read, and replace a few with
  // garbage, then let the watcher catch up.
  for (int i = 0; i < kFiles; i += 2) QVERIFY(QFile::remove(dir.filePath(QStringLiteral("%1.png").arg(i, 4, 10, QLatin1Char('0')))));
  for (int i = 1; i < 12; i += 2) writeFile(dir.filePath(QStringLiteral("%1.png").arg(i, 4, 10, QLatin1Char('0'))), "gone bad");
  for (int row = 0; row < model.rowCount(); ++row) (void)model.index(row).data(Qt::DecorationRole);  // the view asks
  QCOMPARE(loadedCount(model), 0);  // asking returns the placeholder; nothing was read here
  QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), kFiles / 2, 10000);
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 20000);
  int broken = 0;
  for (int row = 0; row < model.rowCount(); ++row) {
    const QModelIndex index = model.index(row);
    QVERIFY(QFileInfo::exists(index.data(GalleryModel::PathRole).toString()));
    if (index.data(GalleryModel::BrokenRole).toBool()) ++broken;
  }
  QCOMPARE(broken, 6);  // the six replaced with garbage; the rest read fine
  // And the whole folder vanishing.
  QVERIFY(dir.remove());
  model.refresh();
  QCOMPARE(model.rowCount(), 0);
}

void TestGalleryFaults::damagedRecordsAndIndexesAreRefused() {
  latent::ui::ThumbnailRecord record;
  record.source = {QStringLiteral("/pictures/00001-1.png"), 4242, 1700000000123};
  record.encodedImage = smallPng(4, "a tiny thing");
  const QByteArray bytes = latent::ui::encodeThumbnailRecord(record);
  const auto decoded = latent::ui::decodeThumbnailRecord(bytes);
  QVERIFY(decoded.has_value());
  QVERIFY(decoded->source == record.source);
  QCOMPARE(decoded->encodedImage, record.encodedImage);
  // Any byte changed or any tail missing: the record is refused, never read as another.
  for (qsizetype at = 0; at < bytes.size(); ++at) QVERIFY2(!latent::ui::decodeThumbnailRecord(flipped(bytes, at)), qPrintable(QString::number(at)));
  for (qsizetype length = 0; length < bytes.size(); ++length) QVERIFY(!latent::ui::decodeThumbnailRecord(bytes.left(length)));

  latent::ui::IndexedImage image;
  image.fileName = QStringLiteral("00001-1.png");
  image.size = 4242;
  image.modifiedMs = 1700000000123;
  image.imageSize = QSize(512, 768);
  image.prompt = QStringLiteral("a lighthouse, ünïcödé").toUtf8();
  image.negativePrompt = "blurry";
  latent::ui::IndexedImage broken;
  broken.fileName = QStringLiteral("broken.png");
  broken.broken = true;
  const QString folder = QStringLiteral("/pictures");
  const QByteArray index = latent::ui::encodeGalleryIndex(folder, {image, broken});
  const auto images = latent::ui::decodeGalleryIndex(index, folder);
  QVERIFY(images.has_value());
  QCOMPARE(images->size(), 2);
  QCOMPARE(images->at(0).prompt, image.prompt);
  QCOMPARE(images->at(0).negativePrompt, image.negativePrompt);
  QCOMPARE(images->at(0).imageSize, image.imageSize);
  QCOMPARE(images->at(0).modifiedMs, image.modifiedMs);
  QVERIFY(images->at(1).broken && !images->at(0).broken);
  QVERIFY(!latent::ui::decodeGalleryIndex(index, QStringLiteral("/elsewhere")));  // another folder's index
  for (qsizetype at = 0; at < index.size(); ++at) QVERIFY(!latent::ui::decodeGalleryIndex(flipped(index, at), folder));
  for (qsizetype length = 0; length < index.size(); ++length) QVERIFY(!latent::ui::decodeGalleryIndex(index.left(length), folder));
}

void TestGalleryFaults::damagedCacheFilesAreIgnoredAndMadeAgain() {
  QTemporaryDir dir, cache;
  const QStringList names = {"00001-1.png", "00002-2.png", "00003-3.png", "00004-4.png"};
  for (const QString& name : names) writeFile(dir.filePath(name), smallPng(48, "a grey " + name.toStdString()));
  const QString folder = QFileInfo(dir.path()).absoluteFilePath();
  {
    GalleryModel model;
    model.setCacheFolder(cache.path());
    model.setFolder(dir.path());
    QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model) && allThumbnailsShown(model), 20000);
  }
  const ThumbnailCache thumbnails = ThumbnailCache::within(cache.path(), GalleryModel::kThumbnailSize);
  const QString indexFile = latent::ui::galleryIndexFile(cache.path(), folder);
  QList<QString> cacheFiles;
  for (const QString& name : names) cacheFiles << thumbnails.fileFor(QDir(folder).filePath(name));
  for (const QString& file : cacheFiles) QVERIFY2(QFile::exists(file), qPrintable(file));
  QVERIFY(QFile::exists(indexFile));

  // Garbage, half a file, one byte changed in the picture's data, and the intact thumbnail
  // file of another picture in place of its own; and the index cut short.
  QVERIFY(QFile::remove(cacheFiles[3]) && QFile::copy(cacheFiles[2], cacheFiles[3]));
  writeFile(cacheFiles[0], "not a thumbnail at all");
  const QByteArray second = readAll(cacheFiles[1]), third = readAll(cacheFiles[2]);
  writeFile(cacheFiles[1], second.left(second.size() / 2));
  writeFile(cacheFiles[2], flipped(third, third.size() - 200));
  writeFile(indexFile, readAll(indexFile).chopped(7));

  GalleryModel model;
  model.setCacheFolder(cache.path());
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  model.setFolder(dir.path());
  QCOMPARE(loadedCount(model), 0);  // the damaged index gave nothing: every file is read again
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model) && allThumbnailsShown(model), 20000);
  for (int row = 0; row < model.rowCount(); ++row) {
    const QModelIndex index = model.index(row);
    QVERIFY(!index.data(GalleryModel::BrokenRole).toBool());
    QCOMPARE(index.data(GalleryModel::PromptRole).toString(), "a grey " + index.data(GalleryModel::FileNameRole).toString());
    const QImage thumbnail = index.data(Qt::DecorationRole).value<QPixmap>().toImage();
    QCOMPARE(thumbnail.size(), QSize(GalleryModel::kThumbnailSize, GalleryModel::kThumbnailSize));
    QVERIFY(qAbs(qGray(thumbnail.pixel(80, 80)) - 128) < 8);  // the grey picture, not a damaged one
  }
  // Each damaged file was replaced by a good one for the picture as it is.
  for (int i = 0; i < names.size(); ++i) {
    const auto record = latent::ui::decodeThumbnailRecord(readAll(cacheFiles[i]));
    QVERIFY2(record.has_value(), qPrintable(names[i]));
    QVERIFY(record->source == latent::ui::FileStamp::of(QFileInfo(QDir(folder).filePath(names[i]))));
  }
  model.saveIndex();
  QTRY_COMPARE_WITH_TIMEOUT(latent::ui::readGalleryIndex(indexFile, folder).size(), names.size(), 10000);
}

void TestGalleryFaults::unwritableCacheStillShowsThePictures() {
  QTemporaryDir dir, cache;
  writeFile(dir.filePath("00001-1.png"), smallPng(48, "a quiet harbour"));
  writeFile(cache.filePath("blocker"), "a file where the cache folder would be");
  GalleryModel model;
  model.setCacheFolder(cache.filePath("blocker/gallery"));
  model.setFolder(dir.path());
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model) && allThumbnailsShown(model), 10000);
  QCOMPARE(model.index(0).data(GalleryModel::PromptRole).toString(), QStringLiteral("a quiet harbour"));
  QVERIFY(!model.index(0).data(GalleryModel::BrokenRole).toBool());
  model.saveIndex();  // cannot be written; nothing else happens
  QCOMPARE(QDir(cache.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot), QStringList{"blocker"});
}

QTEST_MAIN(TestGalleryFaults)
#include "tst_gallery_faults.moc"
