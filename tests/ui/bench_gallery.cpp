// Not a test: measures the gallery over a folder of many images and prints the figures.
// It writes N small PNGs (default 20000) whose `parameters` text holds varied prompts into a
// temporary folder, then opens the folder in a GalleryView twice, first with an empty
// thumbnail cache and index (cold) and then again (warm), and reports:
//   - how long the first screen takes to appear (placeholders) and to fill with thumbnails,
//   - how long until every file has been read (cold) or every thumbnail shown once (warm),
//   - the time of each keystroke typing a prompt word into the filter, letter by letter,
//   - how much the resident memory grew.
// Timings depend on the machine and its load; they are printed, never asserted.
//   bench_gallery [--count N] [--side PIXELS] [--folder DIR] [--word WORD] [--timeout SECONDS] [--json]
// Run it offscreen (QT_QPA_PLATFORM=offscreen) or under an X server (xvfb-run).
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QListView>
#include <QRandomGenerator>
#include <QScrollBar>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest/QTest>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>

#include "core/image/png_metadata.h"
#include "core/util/cpu_info.h"
#include "core/util/memory_usage.h"
#include "ui/gallery_model.h"
#include "ui/gallery_view.h"

using latent::ui::GalleryModel;
using latent::ui::GalleryView;

namespace {

const char* const kSubjects[] = {"lighthouse", "red fox", "harbour", "castle", "astronaut", "cat", "forest path",
                                 "mountain lake", "old man", "robot", "sailing ship", "dragon", "city street",
                                 "waterfall", "owl", "desert", "bicycle", "teapot", "violin", "train station"};
const char* const kStyles[] = {"oil painting", "watercolor", "photograph", "pencil sketch", "digital art",
                               "ukiyo-e print", "pixel art", "charcoal drawing", "3d render", "film still"};
const char* const kMoods[] = {"at dusk", "in the snow", "under a stormy sky", "at golden hour", "in the fog",
                              "at night", "in spring", "by candlelight", "on a rainy day", "in autumn"};

const char* const kTags[] = {"masterpiece", "best quality", "ultra detailed", "8k", "sharp focus", "volumetric lighting",
                             "intricate", "trending on artstation", "cinematic composition", "soft shadows",
                             "depth of field", "rule of thirds", "award winning", "hyperrealistic", "muted colors"};

// A prompt of the length people write (about 250 characters): a subject, a mood, a style and tags.
QString promptFor(QRandomGenerator& random) {
  auto pick = [&random](const auto& list) { return QString::fromLatin1(list[random.bounded(int(std::size(list)))]); };
  QString prompt = QStringLiteral("a %1 %2, %3").arg(pick(kSubjects), pick(kMoods), pick(kStyles));
  for (int i = 0; i < 9; ++i) prompt += QStringLiteral(", ") + pick(kTags);
  return prompt;
}

// N PNGs with varied pictures and prompts, oldest first.
void writeImages(const QString& folder, int count, int side) {
  QRandomGenerator random(20000);
  latent::api::Image image;
  image.width = image.height = side;
  image.rgb.resize(size_t(side) * side * 3);
  for (int i = 0; i < count; ++i) {
    const uint32_t tint = random.generate();
    for (int y = 0; y < side; ++y)
      for (int x = 0; x < side; ++x) {
        uint8_t* pixel = &image.rgb[(size_t(y) * side + x) * 3];
        pixel[0] = uint8_t(x * 255 / side + (tint & 0xff));
        pixel[1] = uint8_t(y * 255 / side + (tint >> 8 & 0xff));
        pixel[2] = uint8_t((x ^ y) + (tint >> 16 & 0xff));
      }
    // The negative prompt and settings line as the web UI writes them (about 400 characters).
    const QString parameters =
        promptFor(random) +
        QStringLiteral("\nNegative prompt: blurry, low quality, worst quality, jpeg artifacts, watermark, signature, "
                       "text, extra fingers, deformed hands, bad anatomy, cropped, out of frame, duplicate\n"
                       "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: %1, Size: %2x%2, Model hash: "
                       "6ce0161689, Model: v1-5-pruned-emaonly, VAE hash: 735e4c3a44, VAE: vae-ft-mse-840000, "
                       "Clip skip: 2, Version: v1.9.4")
            .arg(i)
            .arg(side);
    const QString path = QDir(folder).filePath(QStringLiteral("%1-%2.png").arg(i, 5, 10, QLatin1Char('0')).arg(i));
    latent::image::write_file_atomically(path.toStdString(),
                                         latent::image::encode_png(image, {{"parameters", parameters.toStdString()}}));
  }
}

double megabytes(int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

// Runs the event loop until `done` holds; false after `timeoutMs`.
bool waitUntil(const std::function<bool()>& done, int timeoutMs) {
  QElapsedTimer clock;
  clock.start();
  while (!done()) {
    if (clock.elapsed() > timeoutMs) return false;
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    QTest::qSleep(1);
  }
  return true;
}

// Rows of the view's proxy model whose cells are on screen.
QList<QModelIndex> visibleIndexes(QListView* list) {
  QSet<int> rows;
  QList<QModelIndex> indexes;
  const QRect area = list->viewport()->rect();
  const QSize step = list->gridSize().isValid() ? list->gridSize() / 2 : QSize(16, 16);
  for (int y = 1; y < area.height(); y += step.height())
    for (int x = 1; x < area.width(); x += step.width()) {
      const QModelIndex index = list->indexAt(QPoint(x, y));
      if (index.isValid() && !rows.contains(index.row())) {
        rows.insert(index.row());
        indexes.append(index);
      }
    }
  return indexes;
}

bool thumbnailsShown(QListView* list) {
  const QList<QModelIndex> indexes = visibleIndexes(list);
  for (const QModelIndex& index : indexes) {
    (void)index.data(Qt::DecorationRole);  // as painting does: asks for what is missing
    if (!index.data(GalleryModel::ThumbnailReadyRole).toBool() && !index.data(GalleryModel::BrokenRole).toBool())
      return false;
  }
  return !indexes.isEmpty();
}

bool allRead(const GalleryModel& model) {
  for (int row = 0; row < model.rowCount(); ++row)
    if (!model.index(row).data(GalleryModel::LoadedRole).toBool()) return false;
  return true;
}

struct Clock {
  QElapsedTimer timer;
  Clock() { timer.start(); }
  double ms() const { return double(timer.nsecsElapsed()) / 1e6; }
};

// A gallery pane on screen, the size of a large window's, its cache in `cacheFolder`.
struct ShownGallery {
  GalleryModel model;
  GalleryView view{&model};
  explicit ShownGallery(const QString& cacheFolder) {
    model.setCacheFolder(cacheFolder);
    view.resize(1200, 1600);
    view.show();
    QCoreApplication::processEvents();
  }
};

// Opens the folder in a fresh model and view, measuring the first screen and its thumbnails.
QJsonObject openFolder(const QString& folder, ShownGallery& gallery, int timeoutMs) {
  GalleryModel& model = gallery.model;
  GalleryView& view = gallery.view;
  QJsonObject figures;
  Clock clock;
  model.setFolder(folder);
  figures["set_folder_ms"] = clock.ms();
  QCoreApplication::processEvents();
  view.listView()->viewport()->repaint();
  figures["first_screen_ms"] = clock.ms();
  figures["rows"] = model.rowCount();
  figures["visible_rows"] = int(visibleIndexes(view.listView()).size());
  const bool shown = waitUntil([&] { return thumbnailsShown(view.listView()); }, timeoutMs);
  figures["first_screen_thumbnails_ms"] = shown ? clock.ms() : -1.0;
  figures["open_clock_ms"] = clock.ms();
  return figures;
}

// Pages through the whole list, waiting on each page for its thumbnails, as a person scrolling would.
double scrollThrough(QListView* list, int timeoutMs) {
  Clock clock;
  QScrollBar* bar = list->verticalScrollBar();
  for (int value = bar->minimum();; value += bar->pageStep()) {
    bar->setValue(std::min(value, bar->maximum()));
    list->viewport()->repaint();
    if (!waitUntil([&] { return thumbnailsShown(list); }, timeoutMs)) return -1;
    if (value >= bar->maximum()) break;
  }
  bar->setValue(bar->minimum());
  return clock.ms();
}

// Types `word` into the filter one key at a time, then deletes it the same way.
QJsonObject typeFilter(GalleryView& view, const QString& word) {
  QJsonArray typing, erasing, rowsLeft;
  QLineEdit* edit = view.filterEdit();
  edit->setFocus();
  auto key = [&](auto press) {
    Clock clock;
    press();
    QCoreApplication::processEvents();
    view.listView()->viewport()->repaint();
    return clock.ms();
  };
  for (const QChar letter : word) {
    typing.append(key([&] { QTest::keyClick(edit, letter.toLatin1()); }));
    rowsLeft.append(view.filterModel()->rowCount());
  }
  for (int i = 0; i < word.size(); ++i) erasing.append(key([&] { QTest::keyClick(edit, Qt::Key_Backspace); }));
  double worst = 0;
  for (const QJsonArray* list : {&typing, &erasing})
    for (const QJsonValue& value : *list) worst = std::max(worst, value.toDouble());
  return {{"word", word}, {"typing_ms", typing}, {"erasing_ms", erasing}, {"rows_left", rowsLeft}, {"worst_ms", worst}};
}

void printFigures(const QJsonObject& all) {
  const QJsonObject cold = all["cold"].toObject(), warm = all["warm"].toObject(), filter = all["filter"].toObject();
  const QJsonObject memory = all["memory"].toObject();
  std::printf("gallery bench: %d images of %dx%d, %s, load average %.2f\n", all["count"].toInt(),
              all["side"].toInt(), all["side"].toInt(), qPrintable(all["cpu"].toString()), all["load_average"].toDouble());
  for (const auto& [name, run] : {std::pair{"cold", cold}, std::pair{"warm", warm}}) {
    std::printf("  %s: folder listed %.1f ms, first screen (placeholders) %.1f ms, its %d thumbnails %.1f ms\n", name,
                run["set_folder_ms"].toDouble(), run["first_screen_ms"].toDouble(), run["visible_rows"].toInt(),
                run["first_screen_thumbnails_ms"].toDouble());
  }
  std::printf("  cold: every file read and its thumbnail cached: %.1f s\n", cold["all_read_ms"].toDouble() / 1000);
  std::printf("  warm: every file known at once: %s; scrolling through all %d thumbnails: %.1f s\n",
              warm["all_known_at_open"].toBool() ? "yes" : "no", warm["rows"].toInt(),
              warm["scroll_all_ms"].toDouble() / 1000);
  std::printf("  filter \"%s\", per keystroke (ms):", qPrintable(filter["word"].toString()));
  for (const QJsonValue& value : filter["typing_ms"].toArray()) std::printf(" %.1f", value.toDouble());
  std::printf("; erasing:");
  for (const QJsonValue& value : filter["erasing_ms"].toArray()) std::printf(" %.1f", value.toDouble());
  std::printf("\n  filter worst keystroke %.1f ms, rows left:", filter["worst_ms"].toDouble());
  for (const QJsonValue& value : filter["rows_left"].toArray()) std::printf(" %d", value.toInt());
  std::printf("\n  memory: resident before opening %.0f MiB, peak %.0f MiB (growth %.0f MiB), after warm %.0f MiB\n",
              memory["before_mib"].toDouble(), memory["peak_mib"].toDouble(), memory["peak_growth_mib"].toDouble(),
              memory["after_mib"].toDouble());
}

}  // namespace

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("bench_gallery"));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Measures the gallery over a folder of many images."));
  parser.addHelpOption();
  parser.addOption({"count", "Images to write (default 20000).", "N", "20000"});
  parser.addOption({"side", "Width and height of each image (default 64).", "PIXELS", "64"});
  parser.addOption({"folder", "Use the images in DIR, writing them there first if it has none.", "DIR"});
  parser.addOption({"word", "The prompt word typed into the filter (default lighthouse).", "WORD", "lighthouse"});
  parser.addOption({"timeout", "Seconds to wait for any one phase (default 900).", "SECONDS", "900"});
  parser.addOption({"json", "Print the figures as JSON."});
  parser.process(app);
  const int count = parser.value("count").toInt();
  const int side = parser.value("side").toInt();
  const int timeoutMs = parser.value("timeout").toInt() * 1000;
  if (count < 1 || side < 1 || timeoutMs < 1000) {
    std::fprintf(stderr, "bench_gallery: --count, --side and --timeout must be positive numbers\n");
    return 2;
  }

  QTemporaryDir images;
  const QString folder = parser.isSet("folder") ? parser.value("folder") : images.path();
  QDir().mkpath(folder);
  if (QDir(folder).entryList(GalleryModel::imageNameFilters(), QDir::Files).isEmpty()) {
    Clock writing;
    writeImages(folder, count, side);
    std::fprintf(stderr, "wrote %d images in %.1f s\n", count, writing.ms() / 1000);
  }

  QJsonObject all;
  all["count"] = int(QDir(folder).entryList(GalleryModel::imageNameFilters(), QDir::Files).size());
  all["side"] = side;
  all["cpu"] = QString::fromStdString(latent::util::cpu_name());
  all["load_average"] = latent::util::load_average().one;
  all["platform"] = QGuiApplication::platformName();

  QJsonObject memory;
  latent::util::release_free_memory();
  const int64_t before = latent::util::resident_bytes();
  latent::util::reset_peak_resident();
  memory["before_mib"] = megabytes(before);

  // The thumbnail cache and index go to a temporary folder, not the user's cache: the first
  // opening finds them empty.
  QTemporaryDir cache;
  {
    ShownGallery gallery(cache.path());
    QJsonObject cold = openFolder(folder, gallery, timeoutMs);
    Clock reading;
    const bool read = waitUntil([&] { return allRead(gallery.model); }, timeoutMs);
    cold["all_read_ms"] = read ? cold["open_clock_ms"].toDouble() + reading.ms() : -1.0;
    all["cold"] = cold;
    all["filter"] = typeFilter(gallery.view, parser.value("word"));
  }
  QCoreApplication::processEvents();
  {
    ShownGallery gallery(cache.path());
    QJsonObject warm = openFolder(folder, gallery, timeoutMs);
    warm["all_known_at_open"] = allRead(gallery.model);
    warm["scroll_all_ms"] = scrollThrough(gallery.view.listView(), timeoutMs);
    all["warm"] = warm;
    all["filter_warm"] = typeFilter(gallery.view, parser.value("word"));
    memory["peak_mib"] = megabytes(latent::util::peak_resident_bytes());
    memory["peak_growth_mib"] = megabytes(latent::util::peak_resident_bytes() - before);
    latent::util::release_free_memory();
    memory["after_mib"] = megabytes(latent::util::resident_bytes());
  }
  all["memory"] = memory;
  printFigures(all);
  if (parser.isSet("json")) std::printf("%s\n", QJsonDocument(all).toJson(QJsonDocument::Indented).constData());
  return 0;
}
