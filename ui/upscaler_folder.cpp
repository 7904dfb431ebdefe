#include "ui/upscaler_folder.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QFutureWatcher>
#include <QStandardItemModel>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

#include "core/api/upscaler_names.h"
#include "core/pipeline/picture_upscaler.h"

namespace latent::ui {
namespace {

using ReadResults = QList<std::pair<QString, UpscalerEntry>>;

// Upscalers as .safetensors, and the pickle formats people download them in.
const QStringList kPatterns = {QStringLiteral("*.safetensors"), QStringLiteral("*.pth"), QStringLiteral("*.pt"),
                               QStringLiteral("*.ckpt"), QStringLiteral("*.bin")};

QString stampOf(const QString& path) {
  const QFileInfo info(path);
  return QStringLiteral("%1:%2").arg(info.size()).arg(info.lastModified().toMSecsSinceEpoch());
}

UpscalerEntry readEntry(const QString& path) {
  const pipeline::UpscalerFileInfo info = pipeline::probe_upscaler_file(path.toStdString());
  UpscalerEntry entry;
  entry.name = QString::fromStdString(info.name);
  entry.path = path;
  entry.architecture = QString::fromStdString(info.architecture);
  entry.scale = info.scale;
  entry.problem = QString::fromStdString(info.problem);
  return entry;
}

QString entryLabel(const UpscalerEntry& entry) {
  if (!entry.usable()) return QObject::tr("%1 (cannot be used)").arg(entry.name);
  return QObject::tr("%1 (×%2)").arg(entry.name).arg(entry.scale);
}

}  // namespace

UpscalerFolder::UpscalerFolder(QObject* parent)
    : QObject(parent),
      m_watcher(new QFileSystemWatcher(this)),
      m_refreshTimer(new QTimer(this)),
      m_reading(new QFutureWatcher<ReadResults>(this)) {
  m_refreshTimer->setSingleShot(true);
  m_refreshTimer->setInterval(300);
  connect(m_refreshTimer, &QTimer::timeout, this, &UpscalerFolder::refresh);
  connect(m_watcher, &QFileSystemWatcher::directoryChanged, m_refreshTimer, qOverload<>(&QTimer::start));
  connect(m_reading, &QFutureWatcher<ReadResults>::finished, this, &UpscalerFolder::readDone);
}

UpscalerFolder::~UpscalerFolder() { m_reading->waitForFinished(); }

void UpscalerFolder::setFolder(const QString& folder) {
  if (!m_watcher->directories().isEmpty()) m_watcher->removePaths(m_watcher->directories());
  m_folder = folder;
  if (!folder.isEmpty() && QFileInfo(folder).isDir()) m_watcher->addPath(folder);
  refresh();
}

QList<UpscalerEntry> UpscalerFolder::entries() const {
  QList<UpscalerEntry> out;
  for (const QString& path : m_files) {
    const auto read = m_read.constFind(path);
    if (read != m_read.constEnd()) out.append(read->second);
  }
  return out;
}

bool UpscalerFolder::isReading() const { return m_reading->isRunning(); }

void UpscalerFolder::refresh() {
  if (m_reading->isRunning()) {
    m_again = true;
    return;
  }
  m_files.clear();
  if (!m_folder.isEmpty()) {
    for (const QFileInfo& file : QDir(m_folder).entryInfoList(kPatterns, QDir::Files, QDir::Name | QDir::IgnoreCase))
      m_files.append(file.absoluteFilePath());
  }
  QList<std::pair<QString, QString>> toRead;  // path, stamp
  for (const QString& path : std::as_const(m_files)) {
    const QString stamp = stampOf(path);
    const auto read = m_read.constFind(path);
    if (read == m_read.constEnd() || read->first != stamp) toRead.append({path, stamp});
  }
  if (toRead.isEmpty()) {
    Q_EMIT changed();
    return;
  }
  // Reading a network means loading its weights (tens of MB): never on the GUI thread.
  m_reading->setFuture(QtConcurrent::run([toRead] {
    ReadResults results;
    for (const auto& [path, stamp] : toRead) results.append({stamp, readEntry(path)});
    return results;
  }));
}

void UpscalerFolder::readDone() {
  for (const auto& [stamp, entry] : m_reading->result()) m_read.insert(entry.path, {stamp, entry});
  if (m_again) {
    m_again = false;
    refresh();
    return;
  }
  Q_EMIT changed();
}

void fillUpscalerCombo(QComboBox* combo, const QList<UpscalerEntry>& entries, bool withLatent) {
  const QString selected = combo->currentData().toString();
  const QSignalBlocker quiet(combo);
  combo->clear();
  for (const auto& upscaler : api::built_in_upscalers()) {
    if (upscaler.is_latent() && !withLatent) continue;
    combo->addItem(QString::fromStdString(upscaler.webui_name), QString::fromStdString(upscaler.name));
  }
  auto* model = qobject_cast<QStandardItemModel*>(combo->model());
  for (const UpscalerEntry& entry : entries) {
    combo->addItem(entryLabel(entry), entry.path);
    const int row = combo->count() - 1;
    combo->setItemData(row, entry.usable() ? entry.path : entry.problem, Qt::ToolTipRole);
    if (!entry.usable() && model) model->item(row)->setEnabled(false);
  }
  if (selected.isEmpty()) {
    combo->setCurrentIndex(0);
  } else {
    selectUpscaler(combo, selected);
  }
}

void selectUpscaler(QComboBox* combo, const QString& name) {
  if (const auto* built_in = api::find_built_in_upscaler(name.toStdString())) {
    const int index = combo->findData(QString::fromStdString(built_in->name));
    combo->setCurrentIndex(std::max(index, 0));
    return;
  }
  int index = combo->findData(name);
  if (index < 0) {
    combo->addItem(QFileInfo(name).completeBaseName(), name);
    index = combo->count() - 1;
    combo->setItemData(index, name, Qt::ToolTipRole);
  }
  combo->setCurrentIndex(index);
}

}  // namespace latent::ui
