#pragma once

// The application window: model, prompts and parameters on the left, the live
// preview in the middle, the gallery of the output folder on the right.

#include <QImage>
#include <QMainWindow>
#include <QPointer>
#include <QStringList>

#include <optional>

#include "ui/generation_job.h"
#include "ui/generation_settings.h"
#include "ui/image_metadata.h"

class QAction;
class QDockWidget;
class QLabel;
class QProgressBar;
class QPushButton;
class QSplitter;
class QTimer;

namespace latent::ui {

class GalleryModel;
class GalleryView;
class GenerationQueue;
class InitImagePanel;
class HiresPanel;
class ControlPanel;
class LoraPanel;
class LoraTrainingDialog;
class XyzPlotDialog;
class ModelPicker;
class ParametersPanel;
class PreviewView;
class PromptPanel;
class RunOnPanel;
class SettingsStore;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  // `settings` must outlive the window.
  explicit MainWindow(SettingsStore* settings, QWidget* parent = nullptr);
  ~MainWindow() override;

  GenerationSettings formSettings() const;
  void applySettings(const GenerationSettings& settings);
  // Restores what an image file records (prompt, negative prompt, seed, steps, guidance,
  // sampler, size and model). False when the file says nothing we can use.
  bool applyImageSettings(const QString& path);
  // The same from a `parameters` text as other Stable Diffusion programs write it.
  bool applyParametersText(const QString& text);

  QString outputDir() const { return m_outputDir; }
  void setOutputDir(const QString& dir);

  QStringList lastSavedPaths() const { return m_lastSaved; }
  // Writes the image on show to `path` (PNG keeps its parameters, also for a result that could
  // not be saved into the output folder and is kept in memory). False, with the error shown,
  // when it cannot be written.
  bool saveCurrentImageTo(const QString& path);
  QString errorText() const;
  QString statusText() const;
  QString queueText() const;
  QString warningText() const;  // what the last result warned about; empty when nothing

  PromptPanel* promptPanel() const { return m_prompt; }
  ParametersPanel* parametersPanel() const { return m_parameters; }
  ModelPicker* modelPicker() const { return m_model; }
  PreviewView* previewView() const { return m_preview; }
  GalleryView* galleryView() const { return m_gallery; }
  GalleryModel* galleryModel() const { return m_galleryModel; }
  GenerationQueue* generationQueue() const { return m_queue; }
  QPushButton* generateButton() const { return m_generateButton; }
  QPushButton* cancelButton() const { return m_cancelButton; }
  QProgressBar* progressBar() const { return m_progress; }
  LoraPanel* loraPanel() const { return m_loras; }
  InitImagePanel* initImagePanel() const { return m_initImage; }
  HiresPanel* hiresPanel() const { return m_hires; }
  QDockWidget* loraDock() const { return m_loraDock; }
  ControlPanel* controlPanel() const { return m_controls; }
  QDockWidget* controlDock() const { return m_controlDock; }
  QDockWidget* imageDock() const { return m_imageDock; }
  RunOnPanel* runOnPanel() const { return m_runOn; }

 public Q_SLOTS:
  void generate();
  void cancel();
  void saveImageAs();
  void copyImage();
  void chooseOutputDir();
  void pasteParameters();
  void loadSettingsFromImage();
  // Opens any image (ours, the web UI's, ComfyUI's, ...) in the gallery's details, which show
  // its settings and the program that made it; "Use these settings" restores them.
  void openImage();
  void showImageDetails(const QString& path);
  void saveSettings();
  // Image to image from a picture file (the gallery's "Send to image to image").
  bool sendToImageToImage(const QString& path);
  // Image to image from the image now shown (the finished result).
  void sendCurrentToImageToImage();
  // Opens the LoRA training dialog (one at a time) for the chosen model; what it trains
  // is written into the LoRA panel's folder, which then lists it.
  LoraTrainingDialog* showLoraTraining();
  // Opens the X/Y/Z plot dialog (one at a time): its plots run through the queue with the
  // form's settings, and their grids join the gallery.
  XyzPlotDialog* showXyzPlot();
  // The gallery's "Upscale…": asks how (UpscaleDialog), then queues it.
  void upscaleImage(const QString& path);
  // Queues an upscale; its picture is saved beside the source and joins the gallery.
  quint64 queueUpscale(const UpscaleJob& job);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void buildActions();
  QWidget* buildControls();
  QWidget* buildPreviewPane();
  void buildDocks();
  void showImageDock();
  bool checkImageRequest(const api::GenerationRequest& request);
  // The job the form describes, with the seed to use (a fresh one unless locked); nothing,
  // with the error shown, when the form cannot run.
  std::optional<GenerationJob> jobFromForm();
  void chooseStylesFile();
  void chooseWildcardsDir();
  void connectQueue();
  void restoreState();
  void showError(const QString& message);
  void clearError();
  void setStatus(const QString& text);
  void showProgress(quint64 jobId, const GenerationProgress& progress);
  void showResult(quint64 jobId, const GenerationOutput& output);
  void updateQueueLabel();
  void setCurrentImage(const QString& path, const QImage& image);
  bool applyRestored(const RestoredSettings& restored);
  // The refiner an image names, found by its path or among the refiners used before.
  api::RefinerSettings restoredRefiner(const RestoredSettings& restored) const;
  // The same for the VAE an image names.
  QString restoredVae(const RestoredSettings& restored) const;
  // The prediction, VAE and preview decoder remembered for the chosen model, shown; and the
  // ones on show remembered for it.
  void showModelChoices();
  void rememberModelChoices();
  QString choicesKey() const;

  SettingsStore* m_settings;
  GenerationQueue* m_queue;
  GalleryModel* m_galleryModel;

  ModelPicker* m_model;
  PromptPanel* m_prompt;
  ParametersPanel* m_parameters;
  QPushButton* m_generateButton;
  QPushButton* m_cancelButton;
  QLabel* m_queueLabel;
  QLabel* m_error;
  QLabel* m_status;
  QLabel* m_warning;
  QProgressBar* m_progress;
  PreviewView* m_preview;
  GalleryView* m_gallery;
  LoraPanel* m_loras = nullptr;
  RunOnPanel* m_runOn = nullptr;
  InitImagePanel* m_initImage = nullptr;
  HiresPanel* m_hires = nullptr;
  QDockWidget* m_hiresDock = nullptr;
  QDockWidget* m_loraDock = nullptr;
  ControlPanel* m_controls = nullptr;
  QDockWidget* m_controlDock = nullptr;
  QDockWidget* m_imageDock = nullptr;
  QPointer<LoraTrainingDialog> m_loraTraining;
  QPointer<XyzPlotDialog> m_xyzPlot;
  QSplitter* m_splitter;
  QTimer* m_saveTimer;

  bool m_showingModelChoices = false;  // while showModelChoices sets them: nothing to remember

  QAction* m_generateAction = nullptr;
  QAction* m_cancelAction = nullptr;

  QString m_outputDir;
  QStringList m_lastSaved;
  QString m_currentImagePath;
  QImage m_currentImage;
  QByteArray m_currentPng;  // the result on show as PNG with metadata, when saving it failed
};

}  // namespace latent::ui
