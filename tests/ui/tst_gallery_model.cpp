// The gallery's model over a real folder: order, metadata, broken files, new files, filtering.
#include <QtTest/QtTest>

#include <QAbstractItemModelTester>
#include <QLineEdit>
#include <QListView>
#include <QPushButton>
#include <QSortFilterProxyModel>

#include "core/image/png_metadata.h"
#include "ui/gallery_model.h"
#include "ui/gallery_view.h"
#include "ui/image_details.h"
#include "ui/thumbnail_loader.h"
#include "ui_test_support.h"

using latent::ui::GalleryModel;

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

bool allLoaded(const GalleryModel& model) {
  for (int row = 0; row < model.rowCount(); ++row)
    if (!model.index(row).data(GalleryModel::LoadedRole).toBool()) return false;
  return true;
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

 private:
  std::unique_ptr<QTemporaryDir> m_dir;
};

void TestGalleryModel::init() {
  m_dir = std::make_unique<QTemporaryDir>();
  QVERIFY(m_dir->isValid());
  writeImage(m_dir->filePath("00001-1.png"), "an old lighthouse", 300);
  writeImage(m_dir->filePath("00002-2.png"), "a red fox in the snow", 200);
  writeImage(m_dir->filePath("00003-3.png"), "", 100);  // no metadata at all
  QFile notes(m_dir->filePath("notes.txt"));
  QVERIFY(notes.open(QIODevice::WriteOnly));
  notes.write("not an image");
}

void TestGalleryModel::listsExistingFilesNewestFirst() {
  GalleryModel model;
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

  QVERIFY(QFile::remove(m_dir->filePath("00002-2.png")));
  QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 3, 10000);
  QCOMPARE(model.rowOfPath(QFileInfo(m_dir->filePath("00002-2.png")).absoluteFilePath()), -1);
}

void TestGalleryModel::thumbnailsAreSmallAndMadeOffTheGuiThread() {
  writeImage(m_dir->filePath("big.png"), "a big one", 10, 640);
  const auto info = latent::ui::ThumbnailLoader::load(m_dir->filePath("big.png"), GalleryModel::kThumbnailSize);
  QVERIFY(!info.broken);
  QCOMPARE(info.imageSize, QSize(640, 640));
  QCOMPARE(info.thumbnail.size(), QSize(GalleryModel::kThumbnailSize, GalleryModel::kThumbnailSize));

  GalleryModel model;
  model.setFolder(m_dir->path());
  // Right after listing nothing has been read: reading happens in the pool, not in setFolder().
  QVERIFY(!model.index(0).data(GalleryModel::LoadedRole).toBool());
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 10000);
  const QPixmap thumbnail = model.index(0).data(Qt::DecorationRole).value<QPixmap>();
  QCOMPARE(thumbnail.size(), QSize(GalleryModel::kThumbnailSize, GalleryModel::kThumbnailSize));
}

void TestGalleryModel::filtersByPrompt() {
  GalleryModel model;
  latent::ui::GalleryView view(&model);
  model.setFolder(m_dir->path());
  QTRY_VERIFY_WITH_TIMEOUT(allLoaded(model), 10000);
  QCOMPARE(view.filterModel()->rowCount(), 3);
  view.filterEdit()->setText(QStringLiteral("FOX"));
  QCOMPARE(view.filterModel()->rowCount(), 1);
  QCOMPARE(view.filterModel()->index(0, 0).data(GalleryModel::PromptRole).toString(), QStringLiteral("a red fox in the snow"));
  view.filterEdit()->setText(QStringLiteral("nothing like this"));
  QCOMPARE(view.filterModel()->rowCount(), 0);
  view.filterEdit()->clear();
  QCOMPARE(view.filterModel()->rowCount(), 3);
}

void TestGalleryModel::selectingShowsDetails() {
  GalleryModel model;
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

QTEST_MAIN(TestGalleryModel)
#include "tst_gallery_model.moc"
