// The gallery's model over a real folder: order, metadata, broken files, new files, filtering,
// and what carries over between sessions: thumbnails from the on-disk cache and prompts from
// the folder's index, each only while its picture is unchanged. Every model here keeps its
// cache in a temporary folder.
#include <QtTest/QtTest>

#include <QAbstractItemModelTester>
#include <QLineEdit>
#include <QListView>
#include <QPushButton>
#include <QSortFilterProxyModel>

#include "core/image/png_metadata.h"
#include "ui/gallery_index.h"
#include "ui/gallery_model.h"
#include "ui/gallery_view.h"
#include "ui/image_details.h"
#include "ui/thumbnail_cache.h"
#include "ui/thumbnail_cache_record.h"
#include "ui/thumbnail_loader.h"
#include "ui_test_support.h"

using latent::ui::GalleryModel;
using latent::ui::ThumbnailCache;

namespace {

// A PNG with a `parameters` chunk, dated `age` seconds back.
void writeImage(const QString& path, const std::string& prompt, int ageSeconds, int side = 96) {
  latent::api::Image image;
  image.width = side;
  image.height = side;
  image.rgb.resize(size_t(side) * side * 3);
  for (size_t i = 0; i < image.rgb.size(); ++i) image.rgb[i] = uint8_t(i * 7 + prompt.size());
  latent::image::TextChunks chunks;
  if (!prompt.empty()) chunks.push_back({"parameters", prompt + "\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 96x96"});
  latent::image::write_file_atomically(path.toStdString(), latent::image::encode_png(image, chunks));
  QFile file(path);
  QVERIFY(file.open(QIODevice::ReadWrite));
  QVERIFY(file.setFileTime(QDateTime::currentDateTime().addSecs(-ageSeconds), QFileDevice::FileModificationTime));
}

// A PNG of one colour with a `parameters` chunk, dated `modified`.
void writeSolid(const QString& path, const std::string& prompt, QRgb colour, const QDateTime& modified) {
  latent::api::Image image;
  image.width = image.height = 64;
  for (int i = 0; i < 64 * 64; ++i)
    image.rgb.insert(image.rgb.end(), {uint8_t(qRed(colour)), uint8_t(qGreen(colour)), uint8_t(qBlue(colour))});
  latent::image::write_file_atomically(
      path.toStdString(), latent::image::encode_png(image, {{"parameters", prompt + "\nSteps: 20, Seed: 1, Size: 64x64"}}));
  QFile file(path);
  QVERIFY(file.open(QIODevice::ReadWrite));
  QVERIFY(file.setFileTime(modified, QFileDevice::FileModificationTime));
}

int loadedCount(const GalleryModel& model) {
  int loaded = 0;
  for (int row = 0; row < model.rowCount(); ++row)
    if (model.index(row).data(GalleryModel::LoadedRole).toBool()) ++loaded;
  return loaded;
}

bool allLoaded(const GalleryModel& model) { return loadedCount(model) == model.rowCount(); }

// The row's thumbnail once it is in memory: asks for it as a view showing the row does.
QImage thumbnailAt(const GalleryModel& model, int row) {
  const QModelIndex index = model.index(row);
  (void)index.data(Qt::DecorationRole);
  if (!QTest::qWaitFor([&] { return index.data(GalleryModel::ThumbnailReadyRole).toBool(); }, 10000)) return {};
  return index.data(Qt::DecorationRole).value<QPixmap>().toImage().convertToFormat(QImage::Format_RGB888);
}

// What the cache's JPEG (quality 90) changes in a thumbnail, in mean levels: under 5 for the
// noise-like pictures written here.
constexpr double kJpegLevels = 8;

// The mean absolute difference of two pictures of one size, in 8-bit levels per channel.
double meanDifference(const QImage& a, const QImage& b) {
  const QImage x = a.convertToFormat(QImage::Format_RGB888), y = b.convertToFormat(QImage::Format_RGB888);
  if (x.size() != y.size() || x.isNull()) return 255;
  double sum = 0;
  for (int row = 0; row < x.height(); ++row)
    for (int i = 0; i < x.width() * 3; ++i) sum += std::abs(int(x.constScanLine(row)[i]) - int(y.constScanLine(row)[i]));
  return sum / (double(x.width()) * x.height() * 3);
}

// Replaces a file's bytes with as many others, keeping its modification time: to the gallery
// the file is unchanged, but reading it would find no picture.
void scrambleKeepingStamp(const QString& path) {
  const QFileInfo before(path);
  const QDateTime modified = before.lastModified();
  QFile file(path);
  QVERIFY(file.open(QIODevice::ReadWrite));
  QCOMPARE(file.write(QByteArray(before.size(), 'x')), before.size());
  QVERIFY(file.flush());  // written before the time is set back, not at close()
  QVERIFY(file.setFileTime(modified, QFileDevice::FileModificationTime));
  file.close();
  QCOMPARE(QFileInfo(path).lastModified(), modified);
}

}  // namespace

class TestGalleryModel : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void init();
  void listsExistingFilesNewestFirst();
  void brokenFilesAreShownNotFatal();
  void picksUpNewFilesAndForgetsDeletedOnes();
  void thumbnailsAreSmallAndMadeOffTheGuiThread();
  void filtersByPrompt();
  void selectingShowsDetails();
  void indexKnowsEveryPromptAtOpen();
  void cachedThumbnailIsShownWithoutReadingTheFile();
  void changedFileIsReadAgain();
  void filterFindsAPromptAddedAfterTheIndexWasBuilt();
  void largeFolderIsListedAtOnceAndShownRowsAreReadFirst();

 private:
  QString absolute(const QString& name) const { return QFileInfo(m_dir->filePath(name)).absoluteFilePath(); }
  // A model over the test folder, keeping its cache in the test's cache folder.
  std::unique_ptr<GalleryModel> openModel() const {
    auto model = std::make_unique<GalleryModel>();
    model->setCacheFolder(m_cache->path());
    model->setFolder(m_dir->path());
    return model;
  }

  std::unique_ptr<QTemporaryDir> m_dir;
  std::unique_ptr<QTemporaryDir> m_cache;
};

void TestGalleryModel::init() {
  m_dir = std::make_unique<QTemporaryDir>();
  m_cache = std::make_unique<QTemporaryDir>();
  QVERIFY(m_dir->isValid() && m_cache->isValid());
  writeImage(m_dir->filePath("00001-1.png"), "an old lighthouse", 300);
  writeImage(m_dir->filePath("00002-2.png"), "a red fox in the snow", 200);
  writeImage(m_dir->filePath("00003-3.png"), "", 100);  // no metadata at all
  QFile notes(m_dir->filePath("notes.txt"));
  QVERIFY(notes.open(QIODevice::WriteOnly));
  notes.write("not an image");
}

void TestGalleryModel::listsExistingFilesNewestFirst() {
  GalleryModel model;
  model.setCacheFolder(m_cache->path());
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  model.setFolder(m_dir->path());
  QCOMPARE(model.rowCount(), 3);
  QCOMPARE(model.index(0).data(GalleryModel::FileNameRole).toString(), QStringLiteral("00003-3.png"));
  QCOMPARE(model.index(1).data(GalleryModel::FileNameRole).toString(), QStringLiteral("00002-2.png"));
  QCOMPARE(model.index(2).data(GalleryModel::FileNameRole).toString(), QStringLiteral("00001-1.png"));
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 10000);
  QCOMPARE(model.index(1).data(GalleryModel::PromptRole).toString(), QStringLiteral("a red fox in the snow"));
  QCOMPARE(model.index(2).data(GalleryModel::PromptRole).toString(), QStringLiteral("an old lighthouse"));
  QVERIFY(model.index(0).data(GalleryModel::PromptRole).toString().isEmpty());
  QCOMPARE(model.index(0).data(GalleryModel::ImageSizeRole).toSize(), QSize(96, 96));
  for (int row = 0; row < 3; ++row) {
    QVERIFY(!model.index(row).data(GalleryModel::BrokenRole).toBool());
    QVERIFY(!model.index(row).data(Qt::DecorationRole).value<QPixmap>().isNull());
  }
  QVERIFY(model.roleNames().contains(GalleryModel::PathRole));
}

void TestGalleryModel::brokenFilesAreShownNotFatal() {
  QFile truncated(m_dir->filePath("truncated.png"));
  QVERIFY(truncated.open(QIODevice::WriteOnly));
  QFile good(m_dir->filePath("00001-1.png"));
  QVERIFY(good.open(QIODevice::ReadOnly));
  truncated.write(good.read(100));  // the signature and part of a chunk
  truncated.close();
  QFile garbage(m_dir->filePath("garbage.jpg"));
  QVERIFY(garbage.open(QIODevice::WriteOnly));
  garbage.write(QByteArray(5000, '\x5a'));
  garbage.close();
  QFile empty(m_dir->filePath("empty.webp"));
  QVERIFY(empty.open(QIODevice::WriteOnly));
  empty.close();

  GalleryModel model;
  model.setCacheFolder(m_cache->path());
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  model.setFolder(m_dir->path());
  QCOMPARE(model.rowCount(), 6);
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 10000);
  QStringList broken;
  for (int row = 0; row < model.rowCount(); ++row) {
    const QModelIndex index = model.index(row);
    if (index.data(GalleryModel::BrokenRole).toBool()) broken << index.data(GalleryModel::FileNameRole).toString();
    QVERIFY(!index.data(Qt::DecorationRole).value<QPixmap>().isNull());  // a thumbnail or the broken sign
  }
  broken.sort();
  QCOMPARE(broken, (QStringList{"empty.webp", "garbage.jpg", "truncated.png"}));
}

void TestGalleryModel::picksUpNewFilesAndForgetsDeletedOnes() {
  GalleryModel model;
  model.setCacheFolder(m_cache->path());
  QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
  model.setFolder(m_dir->path());
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 10000);
  QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);

  // Written by someone else (another program, the command-line tool): the watcher notices.
  latent::api::Image image;
  image.width = image.height = 32;
  image.rgb.assign(32 * 32 * 3, 200);
  const QString fresh = m_dir->filePath("00004-4.png");
  latent::image::write_file_atomically(fresh.toStdString(),
                                       latent::image::encode_png(image, {{"parameters", "a brand new image\nSteps: 5, Seed: 4, Size: 32x32"}}));
  QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 4, 10000);
  QCOMPARE(inserted.count(), 1);
  QCOMPARE(model.index(0).data(GalleryModel::PathRole).toString(), QFileInfo(fresh).absoluteFilePath());
  QTRY_COMPARE_WITH_TIMEOUT(model.index(0).data(GalleryModel::PromptRole).toString(), QStringLiteral("a brand new image"),
                            10000);

  const QString fox = absolute("00002-2.png");
  const QString cached = ThumbnailCache::within(m_cache->path(), GalleryModel::kThumbnailSize).fileFor(fox);
  QVERIFY(QFile::exists(cached));
  QVERIFY(QFile::remove(m_dir->filePath("00002-2.png")));
  QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 3, 10000);
  QCOMPARE(model.rowOfPath(fox), -1);
  QTRY_VERIFY_WITH_TIMEOUT(!QFile::exists(cached), 10000);  // a gone picture's thumbnail leaves the cache
}

void TestGalleryModel::thumbnailsAreSmallAndMadeOffTheGuiThread() {
  writeImage(m_dir->filePath("big.png"), "a big one", 10, 640);
  const auto info = latent::ui::ThumbnailLoader::load(m_dir->filePath("big.png"), GalleryModel::kThumbnailSize);
  QVERIFY(!info.broken);
  QCOMPARE(info.imageSize, QSize(640, 640));
  QCOMPARE(info.thumbnail.size(), QSize(GalleryModel::kThumbnailSize, GalleryModel::kThumbnailSize));

  GalleryModel model;
  model.setCacheFolder(m_cache->path());
  model.setFolder(m_dir->path());
  // Right after listing nothing has been read: reading happens in the pool, not in setFolder().
  QVERIFY(!model.index(0).data(GalleryModel::LoadedRole).toBool());
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 10000);
  const QImage thumbnail = thumbnailAt(model, model.rowOfPath(absolute("big.png")));
  QCOMPARE(thumbnail.size(), QSize(GalleryModel::kThumbnailSize, GalleryModel::kThumbnailSize));
  // The thumbnail made above (through the cache's JPEG), not the placeholder (over 60 levels off).
  QVERIFY(meanDifference(thumbnail, info.thumbnail) < kJpegLevels);
}

void TestGalleryModel::filtersByPrompt() {
  GalleryModel model;
  model.setCacheFolder(m_cache->path());
  latent::ui::GalleryView view(&model);
  QAbstractItemModelTester tester(view.filterModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  model.setFolder(m_dir->path());
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 10000);
  QCOMPARE(view.filterModel()->rowCount(), 3);
  view.filterEdit()->setText(QStringLiteral("FOX"));
  QCOMPARE(view.filterModel()->rowCount(), 1);
  QCOMPARE(view.filterModel()->index(0, 0).data(GalleryModel::PromptRole).toString(), QStringLiteral("a red fox in the snow"));
  view.filterEdit()->setText(QStringLiteral("FOX IN"));  // narrowing: only the rows shown are searched
  QCOMPARE(view.filterModel()->rowCount(), 1);
  view.filterEdit()->setText(QStringLiteral("nothing like this"));
  QCOMPARE(view.filterModel()->rowCount(), 0);
  view.filterEdit()->setText(QStringLiteral("00001"));  // the file name counts too
  QCOMPARE(view.filterModel()->index(0, 0).data(GalleryModel::PromptRole).toString(), QStringLiteral("an old lighthouse"));

  // While filtered, files come and go: the filter keeps the model's order and only matches.
  view.filterEdit()->setText(QStringLiteral("o"));
  const QStringList before = {absolute("00002-2.png"), absolute("00001-1.png")};  // fOx, lighthOuse; 00003 has no o
  QCOMPARE(view.filterModel()->rowCount(), 2);
  writeImage(m_dir->filePath("00004-4.png"), "a snowy owl", 0);
  writeImage(m_dir->filePath("00005-5.png"), "a wren", 50);
  QTRY_COMPARE_WITH_TIMEOUT(view.filterModel()->rowCount(), 3, 10000);
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 10000);
  QCOMPARE(view.filterModel()->rowCount(), 3);
  QCOMPARE(view.filterModel()->index(0, 0).data(GalleryModel::PathRole).toString(), absolute("00004-4.png"));
  QCOMPARE(view.filterModel()->index(1, 0).data(GalleryModel::PathRole).toString(), before[0]);
  QCOMPARE(view.filterModel()->index(2, 0).data(GalleryModel::PathRole).toString(), before[1]);
  QVERIFY(QFile::remove(m_dir->filePath("00002-2.png")));
  QTRY_COMPARE_WITH_TIMEOUT(view.filterModel()->rowCount(), 2, 10000);
  QCOMPARE(view.filterModel()->index(1, 0).data(GalleryModel::PathRole).toString(), before[1]);
  view.filterEdit()->clear();
  QCOMPARE(view.filterModel()->rowCount(), 4);
  QCOMPARE(view.filterModel()->mapToSource(view.filterModel()->index(3, 0)).row(), 3);
}

void TestGalleryModel::selectingShowsDetails() {
  GalleryModel model;
  model.setCacheFolder(m_cache->path());
  latent::ui::GalleryView view(&model);
  model.setFolder(m_dir->path());
  QSignalSpy use(&view, &latent::ui::GalleryView::useSettingsRequested);
  const QString fox = QFileInfo(m_dir->filePath("00002-2.png")).absoluteFilePath();
  view.selectPath(fox);
  QCOMPARE(view.currentPath(), fox);
  QVERIFY(view.details()->parametersText().contains(QStringLiteral("a red fox in the snow")));
  QTest::mouseClick(view.details()->findChild<QPushButton*>(QStringLiteral("useSettings")), Qt::LeftButton);
  QCOMPARE(use.count(), 1);
  QCOMPARE(use.at(0).at(0).toString(), fox);
}

void TestGalleryModel::indexKnowsEveryPromptAtOpen() {
  {
    auto model = openModel();
    QCOMPARE(loadedCount(*model), 0);  // the first time, every file is read
    QTRY_VERIFY_WITH_TIMEOUT(allLoaded(*model), 10000);
  }  // the model writes the folder's index
  QVERIFY(QFile::exists(latent::ui::galleryIndexFile(m_cache->path(), QFileInfo(m_dir->path()).absoluteFilePath())));
  // The next time the prompts are known as soon as the folder is listed, before any file is read.
  auto model = openModel();
  QVERIFY(allLoaded(*model));
  QCOMPARE(model->index(model->rowOfPath(absolute("00002-2.png"))).data(GalleryModel::PromptRole).toString(),
           QStringLiteral("a red fox in the snow"));
  QCOMPARE(model->index(model->rowOfPath(absolute("00001-1.png"))).data(GalleryModel::PromptRole).toString(),
           QStringLiteral("an old lighthouse"));
  QCOMPARE(model->index(model->rowOfPath(absolute("00002-2.png"))).data(GalleryModel::ImageSizeRole).toSize(),
           QSize(96, 96));
  QVERIFY(model->rowMatches(model->rowOfPath(absolute("00001-1.png")), QByteArrayLiteral("lighthouse")));
}

void TestGalleryModel::cachedThumbnailIsShownWithoutReadingTheFile() {
  const QString fox = absolute("00002-2.png");
  QImage first;
  {
    auto model = openModel();
    QTRY_VERIFY_WITH_TIMEOUT(allLoaded(*model), 10000);
    first = thumbnailAt(*model, model->rowOfPath(fox));
    QVERIFY(!first.isNull());
  }
  const ThumbnailCache cache = ThumbnailCache::within(m_cache->path(), GalleryModel::kThumbnailSize);
  QVERIFY(QFile::exists(cache.fileFor(fox)));

  scrambleKeepingStamp(fox);
  QVERIFY(latent::ui::ThumbnailLoader::load(fox, GalleryModel::kThumbnailSize).broken);  // no picture in it now
  auto model = openModel();
  const int row = model->rowOfPath(fox);
  const QImage again = thumbnailAt(*model, row);
  // Shown from the cache: the file was not decoded, or the row would be broken.
  QVERIFY(!model->index(row).data(GalleryModel::BrokenRole).toBool());
  QCOMPARE(again.size(), first.size());
  const double difference = meanDifference(first, again);
  QVERIFY2(difference < kJpegLevels, qPrintable(QStringLiteral("the cached thumbnail differs by %1 levels").arg(difference)));
  QCOMPARE(model->index(row).data(GalleryModel::PromptRole).toString(), QStringLiteral("a red fox in the snow"));
}

void TestGalleryModel::changedFileIsReadAgain() {
  const QString square = absolute("square.png");
  const QDateTime earlier = QDateTime::currentDateTime().addSecs(-60);
  writeSolid(square, "a red square", qRgb(220, 20, 20), earlier);
  {
    auto model = openModel();
    QTRY_VERIFY_WITH_TIMEOUT(allLoaded(*model), 10000);
    const QImage red = thumbnailAt(*model, model->rowOfPath(square));
    QCOMPARE(QColor(red.pixel(80, 80)).red() > 180, true);
  }
  // Replaced by another picture while the gallery was closed: its index entry and cached
  // thumbnail no longer hold.
  writeSolid(square, "a blue square", qRgb(20, 20, 220), earlier.addSecs(30));
  auto model = openModel();
  const int row = model->rowOfPath(square);
  QVERIFY(!model->index(row).data(GalleryModel::LoadedRole).toBool());
  QTRY_VERIFY_WITH_TIMEOUT(model->index(row).data(GalleryModel::LoadedRole).toBool(), 10000);
  QCOMPARE(model->index(row).data(GalleryModel::PromptRole).toString(), QStringLiteral("a blue square"));
  const QImage blue = thumbnailAt(*model, row);
  QVERIFY(QColor(blue.pixel(80, 80)).blue() > 180 && QColor(blue.pixel(80, 80)).red() < 60);
  // And the cache now holds the new picture's thumbnail under the new stamp.
  const latent::ui::FileStamp stamp = latent::ui::FileStamp::of(QFileInfo(square));
  const QImage cached = ThumbnailCache::within(m_cache->path(), GalleryModel::kThumbnailSize).find(stamp);
  QVERIFY(!cached.isNull());
  QVERIFY(QColor(cached.pixel(80, 80)).blue() > 180);

  // Changed while the gallery is open: the watcher notices, and the row is read again.
  writeSolid(square, "a green square", qRgb(20, 220, 20), earlier.addSecs(45));
  QTRY_COMPARE_WITH_TIMEOUT(
      model->index(model->rowOfPath(square)).data(GalleryModel::PromptRole).toString(), QStringLiteral("a green square"),
      10000);
  const QImage green = thumbnailAt(*model, model->rowOfPath(square));
  QVERIFY(QColor(green.pixel(80, 80)).green() > 180 && QColor(green.pixel(80, 80)).blue() < 60);
}

void TestGalleryModel::filterFindsAPromptAddedAfterTheIndexWasBuilt() {
  {
    auto model = openModel();
    QTRY_VERIFY_WITH_TIMEOUT(allLoaded(*model), 10000);
  }  // the index is built and written
  auto model = openModel();
  latent::ui::GalleryView view(model.get());
  QVERIFY(allLoaded(*model));  // from the index
  view.filterEdit()->setText(QStringLiteral("zebra"));
  QCOMPARE(view.filterModel()->rowCount(), 0);
  // Another program writes a picture: the watcher reports it, it is read, and the filter shows it.
  writeImage(m_dir->filePath("00009-9.png"), "a Zebra crossing the river", 0);
  QTRY_COMPARE_WITH_TIMEOUT(view.filterModel()->rowCount(), 1, 10000);
  QCOMPARE(view.filterModel()->index(0, 0).data(GalleryModel::PathRole).toString(), absolute("00009-9.png"));
  model.reset();  // writes the index with the new picture in it
  auto reopened = openModel();
  const int row = reopened->rowOfPath(absolute("00009-9.png"));
  QVERIFY(reopened->index(row).data(GalleryModel::LoadedRole).toBool());
  QCOMPARE(reopened->index(row).data(GalleryModel::PromptRole).toString(), QStringLiteral("a Zebra crossing the river"));
}

void TestGalleryModel::largeFolderIsListedAtOnceAndShownRowsAreReadFirst() {
  QTemporaryDir big;
  latent::api::Image image;
  image.width = image.height = 16;
  image.rgb.assign(16 * 16 * 3, 90);
  const auto png = latent::image::encode_png(image, {{"parameters", "a small grey tile\nSteps: 1, Seed: 1, Size: 16x16"}});
  constexpr int kFiles = 3000;
  for (int i = 0; i < kFiles; ++i) {
    QFile file(big.filePath(QStringLiteral("%1.png").arg(i, 5, 10, QLatin1Char('0'))));
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(reinterpret_cast<const char*>(png.data()), qint64(png.size()));
  }
  GalleryModel model;
  model.setCacheFolder(m_cache->path());
  QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
  QList<int> readOrder;  // rows in the order their files were read
  connect(&model, &QAbstractItemModel::dataChanged, &model, [&](const QModelIndex& topLeft) {
    if (topLeft.data(GalleryModel::LoadedRole).toBool() && !readOrder.contains(topLeft.row())) readOrder.append(topLeft.row());
  });
  model.setFolder(big.path());
  QCOMPARE(model.rowCount(), kFiles);
  QCOMPARE(inserted.count(), 1);  // one insertion for the whole listing, not one per file
  QCOMPARE(loadedCount(model), 0);  // listing read no file

  // A view scrolled to the end asks for its last rows, which the background reading (newest
  // first, from the top) would reach last: they are read before the rest.
  for (int row = kFiles - 40; row < kFiles; ++row) (void)model.index(row).data(Qt::DecorationRole);
  QCOMPARE(loadedCount(model), 0);  // asking returns placeholders; nothing was read on this thread
  QTRY_VERIFY_WITH_TIMEOUT(
      [&] {
        for (int row = kFiles - 40; row < kFiles; ++row)
          if (!model.index(row).data(GalleryModel::ThumbnailReadyRole).toBool()) return false;
        return true;
      }(),
      20000);
  for (int row = kFiles - 40; row < kFiles; ++row) {
    const qsizetype place = readOrder.indexOf(row);
    QVERIFY2(place >= 0 && place < 80, qPrintable(QStringLiteral("row %1 was read %2th").arg(row).arg(place)));
  }
  QCOMPARE(model.index(kFiles - 1).data(GalleryModel::PromptRole).toString(), QStringLiteral("a small grey tile"));
}

QTEST_MAIN(TestGalleryModel)
#include "tst_gallery_model.moc"
