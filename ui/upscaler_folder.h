#pragma once

// The folder of upscaler networks, kept like the LoRA folder: every .safetensors upscaler in
// it with the scale read from its weights, and pickled files (.pth, .pt, .ckpt, .bin) listed
// as unusable with the reason. Files are read in the background, once per version of each
// file; the list follows the folder as files come and go. The hires fix's upscaler list and
// the Upscale dialog offer what it lists.

#include <QHash>
#include <QList>
#include <QObject>
#include <QString>

template <typename T>
class QFutureWatcher;
class QComboBox;
class QFileSystemWatcher;
class QTimer;

namespace latent::ui {

struct UpscalerEntry {
  QString name;  // the file name without extension, as the metadata names the upscaler
  QString path;
  QString architecture;  // "RRDBNet" or "SRVGGNetCompact"; empty when it cannot be used
  int scale = 0;
  QString problem;  // why it cannot be used; empty when it can

  bool usable() const { return problem.isEmpty(); }
};

class UpscalerFolder : public QObject {
  Q_OBJECT

 public:
  explicit UpscalerFolder(QObject* parent = nullptr);
  ~UpscalerFolder() override;  // waits for a reading in progress

  QString folder() const { return m_folder; }
  // Lists the folder (reading new files in the background) and watches it; empty = none.
  void setFolder(const QString& folder);
  // The files read so far, by name.
  QList<UpscalerEntry> entries() const;
  // True while files are being read: entries() will change.
  bool isReading() const;

 public Q_SLOTS:
  void refresh();

 Q_SIGNALS:
  void changed();  // entries() changed

 private:
  void readDone();

  QString m_folder;
  QStringList m_files;  // the folder's upscaler files, as last listed
  QHash<QString, std::pair<QString, UpscalerEntry>> m_read;  // path → (stamp, entry)
  QFileSystemWatcher* m_watcher;
  QTimer* m_refreshTimer;  // folder changes arrive in bursts while a file is copied
  QFutureWatcher<QList<std::pair<QString, UpscalerEntry>>>* m_reading;
  bool m_again = false;  // the folder changed while reading: list it again afterwards
};

// Fills `combo` with the built-in upscalers (the latent ones only when `withLatent`: a
// finished picture has no latents) and the folder's networks as "4x-UltraSharp (×4)", the
// unusable ones greyed out with the reason as tooltip. The item data is what a request names
// (a built-in's name or a file's path). The selection is kept; a file outside the folder
// that was selected stays, as an item of its own.
void fillUpscalerCombo(QComboBox* combo, const QList<UpscalerEntry>& entries, bool withLatent);

// Selects the upscaler a request names (a built-in's command-line or web-UI name, or a
// file's path), adding a file that is not listed yet.
void selectUpscaler(QComboBox* combo, const QString& name);

}  // namespace latent::ui
