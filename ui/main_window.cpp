#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QImageWriter>
#include <QLabel>
#include <QMenuBar>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTimer>
#include <QVBoxLayout>

#include <exception>

#include "core/image/png_metadata.h"
#include "core/pipeline/image_request_validation.h"
#include "core/pipeline/xyz_plan.h"
#include "ui/gallery_model.h"
#include "ui/gallery_view.h"
#include "ui/generation_queue.h"
#include "ui/image_details.h"
#include "ui/hires_panel.h"
#include "ui/init_image_panel.h"
#include "ui/control_panel.h"
#include "ui/lora_panel.h"
#include "ui/lora_training_dialog.h"
#include "ui/model_picker.h"
#include "ui/parameters_panel.h"
#include "ui/path_choice.h"
#include "ui/preview_view.h"
#include "ui/prompt_panel.h"
#include "ui/result_summary.h"
#include "ui/run_on_panel.h"
#include "ui/settings_store.h"
#include "ui/style_picker.h"
#include "ui/upscale_dialog.h"
#include "ui/xyz_plot_dialog.h"

// Resources of a static library must be registered by hand, outside any namespace.
static void initResources() { Q_INIT_RESOURCE(latentstudio); }

namespace latent::ui {
namespace {

// The first of `recent` whose file or folder is called `name` (with or without its
// extension); empty when none is, or `name` is empty.
QString recentByName(const QStringList& recent, const QString& name) {
  if (name.isEmpty()) return {};
  for (const QString& path : recent) {
    const QFileInfo info(path);
    if (info.fileName() == name || info.completeBaseName() == name) return path;
  }
  return {};
}

QString formatSeconds(double seconds) {
  if (seconds < 10) return QObject::tr("%1 s").arg(seconds, 0, 'f', 1);
  if (seconds < 120) return QObject::tr("%1 s").arg(qRound(seconds));
  return QObject::tr("%1 min %2 s").arg(int(seconds) / 60).arg(int(seconds) % 60);
}

}  // namespace

MainWindow::MainWindow(SettingsStore* settings, QWidget* parent)
    : QMainWindow(parent),
      m_settings(settings),
      m_queue(new GenerationQueue(this)),
      m_galleryModel(new GalleryModel(this)),
      m_saveTimer(new QTimer(this)) {
  initResources();
  setObjectName(QStringLiteral("mainWindow"));
  setWindowTitle(tr("Latent Studio"));
  setWindowIcon(QIcon(QStringLiteral(":/icons/latentstudio.png")));

  m_gallery = new GalleryView(m_galleryModel, this);
  m_splitter = new QSplitter(Qt::Horizontal, this);
  m_splitter->setObjectName(QStringLiteral("mainSplitter"));
  m_splitter->addWidget(buildControls());
  m_splitter->addWidget(buildPreviewPane());
  m_splitter->addWidget(m_gallery);
  m_splitter->setStretchFactor(0, 0);
  m_splitter->setStretchFactor(1, 1);
  m_splitter->setStretchFactor(2, 0);
  m_splitter->setSizes({400, 600, 400});
  setCentralWidget(m_splitter);
  buildDocks();
  setAcceptDrops(true);  // a picture dropped anywhere becomes the image-to-image picture
  buildActions();
  connectQueue();

  connect(m_gallery, &GalleryView::useSettingsRequested, this, &MainWindow::applyImageSettings);
  connect(m_gallery, &GalleryView::sendToImageRequested, this, &MainWindow::sendToImageToImage);
  connect(m_gallery, &GalleryView::upscaleRequested, this, &MainWindow::upscaleImage);
  connect(m_gallery, &GalleryView::currentPathChanged, this, [this](const QString& path) {
    if (!path.isEmpty()) setCurrentImage(path, QImage());
  });
  connect(m_gallery->details(), &ImageDetails::message, this, &MainWindow::setStatus);
  connect(m_gallery->details(), &ImageDetails::trashed, m_galleryModel, &GalleryModel::refresh);

  // Choices persist as they are made, written out a moment after the last change.
  m_saveTimer->setSingleShot(true);
  m_saveTimer->setInterval(1000);
  connect(m_saveTimer, &QTimer::timeout, this, &MainWindow::saveSettings);
  const auto scheduleSave = [this] { m_saveTimer->start(); };
  connect(m_prompt, &PromptPanel::changed, this, scheduleSave);
  connect(m_parameters, &ParametersPanel::changed, this, scheduleSave);
  connect(m_model, &ModelPicker::changed, this, scheduleSave);
  connect(m_loras, &LoraPanel::changed, this, scheduleSave);
  connect(m_controls, &ControlPanel::changed, this, scheduleSave);
  connect(m_initImage, &InitImagePanel::changed, this, scheduleSave);
  connect(m_hires, &HiresPanel::changed, this, scheduleSave);
  connect(m_runOn, &RunOnPanel::changed, this, scheduleSave);
  // On a server, the LoRAs on offer are the server's.
  connect(m_runOn, &RunOnPanel::runOnChanged, this, [this](bool onServer) {
    if (!onServer) m_loras->setServerLoras(std::nullopt);
    else if (!m_runOn->serverModels().isEmpty()) m_loras->setServerLoras(m_runOn->serverLoras());
    else m_runOn->connectToServer();
  });
  connect(m_runOn, &RunOnPanel::connected, this, [this](const QStringList&, const QStringList& loras) {
    if (m_runOn->onServer()) m_loras->setServerLoras(loras);
    setStatus(m_runOn->statusText());
  });
  connect(m_runOn, &RunOnPanel::connectFailed, this, &MainWindow::setStatus);
  connect(m_initImage, &InitImagePanel::message, this, &MainWindow::setStatus);
  connect(m_initImage, &InitImagePanel::sizeWanted, this, [this](const QSize& size) {
    m_parameters->widthSpin()->setValue(size.width());
    m_parameters->heightSpin()->setValue(size.height());
  });
  connect(m_parameters->stepsSpin(), qOverload<int>(&QSpinBox::valueChanged), m_initImage, &InitImagePanel::setSteps);
  connect(m_model, &ModelPicker::modelChosen, this, [this](const QString& path) {
    m_settings->addRecentModel(path);
    m_model->setRecentModels(m_settings->recentModels());
  });
  connect(m_model, &ModelPicker::refinerChosen, this, [this](const QString& path) {
    m_settings->addRecentRefiner(path);
    m_model->setRecentRefiners(m_settings->recentRefiners());
  });
  // The sizes, guidance and LoRAs on offer follow the chosen model's family; its own
  // prediction, VAE and preview decoder come back.
  connect(m_model, &ModelPicker::modelProbed, this, [this](bool byUser) {
    const auto& summary = m_model->summary();
    if (summary) m_parameters->setModelDefaults(summary->defaults, byUser);
    m_loras->setModelFamily(summary ? std::optional(summary->family) : std::nullopt);
    showModelChoices();
  });
  connect(m_model->predictionCombo(), qOverload<int>(&QComboBox::currentIndexChanged), this,
          &MainWindow::rememberModelChoices);
  connect(m_parameters->vaeChoice(), &PathChoice::changed, this, &MainWindow::rememberModelChoices);
  connect(m_parameters->previewVaeChoice(), &PathChoice::changed, this, &MainWindow::rememberModelChoices);
  connect(m_parameters, &ParametersPanel::autoencoderChosen, this, [this](const QString& path) {
    m_settings->addRecentAutoencoder(path);
    m_parameters->vaeChoice()->setRecent(m_settings->recentAutoencoders());
    m_parameters->previewVaeChoice()->setRecent(m_settings->recentAutoencoders());
  });
  connect(m_parameters, &ParametersPanel::fastPresetWanted, this, [this] {
    m_model->probeNow();
    const auto& summary = m_model->summary();
    if (!summary) {
      showError(tr("Choose a model first: the fast preset depends on it."));
      return;
    }
    m_parameters->applyFastPreset(summary->fast);
    setStatus(tr("Fast preset: %1").arg(QString::fromStdString(summary->fast.reason)));
  });

  restoreState();
}

MainWindow::~MainWindow() = default;

QWidget* MainWindow::buildControls() {
  m_runOn = new RunOnPanel(this);
  m_model = new ModelPicker(this);
  m_prompt = new PromptPanel(this);
  m_parameters = new ParametersPanel(this);
  m_generateButton = new QPushButton(tr("&Generate"), this);
  m_generateButton->setObjectName(QStringLiteral("generate"));
  m_generateButton->setDefault(true);
  m_generateButton->setToolTip(tr("Generate (Ctrl+Enter). While busy, the request waits its turn."));
  m_generateButton->setMinimumHeight(36);
  m_cancelButton = new QPushButton(tr("Cancel"), this);
  m_cancelButton->setObjectName(QStringLiteral("cancel"));
  m_cancelButton->setToolTip(tr("Stop the running generation and drop the waiting ones (Esc)"));
  m_cancelButton->setEnabled(false);
  m_cancelButton->setMinimumHeight(36);
  m_queueLabel = new QLabel(this);
  m_queueLabel->setObjectName(QStringLiteral("queueLabel"));
  m_queueLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  connect(m_generateButton, &QPushButton::clicked, this, &MainWindow::generate);
  connect(m_cancelButton, &QPushButton::clicked, this, &MainWindow::cancel);
  connect(m_prompt, &PromptPanel::generateRequested, this, &MainWindow::generate);

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(m_generateButton, 2);
  buttons->addWidget(m_cancelButton, 1);
  auto* panel = new QWidget;
  auto* layout = new QVBoxLayout(panel);
  layout->addWidget(m_runOn);
  layout->addWidget(m_model);
  layout->addWidget(m_prompt, 1);
  layout->addWidget(m_parameters);
  layout->addLayout(buttons);
  layout->addWidget(m_queueLabel);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(panel);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(panel->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width());
  return scroll;
}

QWidget* MainWindow::buildPreviewPane() {
  m_error = new QLabel(this);
  m_error->setObjectName(QStringLiteral("errorLabel"));
  m_error->setWordWrap(true);
  m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_error->setStyleSheet(QStringLiteral("background: #f8d7da; color: #721c24; padding: 6px; border-radius: 4px;"));
  m_error->hide();
  m_preview = new PreviewView(this);
  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("statusLabel"));
  // Changing text must not change the window's minimum size.
  m_status->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  m_warning = new QLabel(this);
  m_warning->setObjectName(QStringLiteral("warningLabel"));
  m_warning->setWordWrap(true);
  m_warning->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_warning->setStyleSheet(QStringLiteral("background: #fff3cd; color: #664d03; padding: 6px; border-radius: 4px;"));
  m_warning->hide();
  m_progress = new QProgressBar(this);
  m_progress->setObjectName(QStringLiteral("progress"));
  m_progress->setRange(0, 1);
  m_progress->setValue(0);
  m_progress->setFormat(QStringLiteral("%v/%m"));
  auto* pane = new QWidget(this);
  auto* layout = new QVBoxLayout(pane);
  layout->addWidget(m_error);
  layout->addWidget(m_warning);
  layout->addWidget(m_preview, 1);
  layout->addWidget(m_progress);
  layout->addWidget(m_status);
  return pane;
}

// LoRAs and the starting picture live in docks: out of the way for plain text to image,
// at hand (and movable, or floating beside a large mask canvas) when wanted.
void MainWindow::buildDocks() {
  m_loras = new LoraPanel(this);
  m_initImage = new InitImagePanel(this);
  m_hires = new HiresPanel(this);
  // Scrolled, so that the docks never force the window wider than the screen.
  const auto scrolled = [this](QWidget* panel) {
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(panel);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    return scroll;
  };
  m_loraDock = new QDockWidget(tr("LoRA"), this);
  m_loraDock->setObjectName(QStringLiteral("loraDock"));
  m_loraDock->setWidget(scrolled(m_loras));
  m_imageDock = new QDockWidget(tr("Image to image"), this);
  m_imageDock->setObjectName(QStringLiteral("imageDock"));
  m_imageDock->setWidget(scrolled(m_initImage));
  addDockWidget(Qt::LeftDockWidgetArea, m_imageDock);
  addDockWidget(Qt::LeftDockWidgetArea, m_loraDock);
  tabifyDockWidget(m_imageDock, m_loraDock);
  // ControlNet units, beside the LoRAs.
  m_controls = new ControlPanel(this);
  m_controlDock = new QDockWidget(tr("ControlNet"), this);
  m_controlDock->setObjectName(QStringLiteral("controlDock"));
  m_controlDock->setWidget(scrolled(m_controls));
  addDockWidget(Qt::LeftDockWidgetArea, m_controlDock);
  tabifyDockWidget(m_loraDock, m_controlDock);
  // The hires fix: a second pass after text to image, beside the other docks.
  m_hiresDock = new QDockWidget(tr("Hires fix"), this);
  m_hiresDock->setObjectName(QStringLiteral("hiresDock"));
  m_hiresDock->setWidget(scrolled(m_hires));
  addDockWidget(Qt::LeftDockWidgetArea, m_hiresDock);
  tabifyDockWidget(m_loraDock, m_hiresDock);
  m_imageDock->raise();
}

void MainWindow::showImageDock() {
  m_imageDock->show();
  m_imageDock->raise();
}

LoraTrainingDialog* MainWindow::showLoraTraining() {
  if (!m_loraTraining) {
    m_loraTraining = new LoraTrainingDialog(m_model->modelPath(), m_loras->folder(), this);
    m_loraTraining->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_loraTraining, &LoraTrainingDialog::trainingEnded, this, [this](const QString& path) {
      if (path.isEmpty()) return;
      m_loras->refresh();
      m_loraDock->show();
      m_loraDock->raise();
    });
  }
  m_loraTraining->show();
  m_loraTraining->raise();
  return m_loraTraining;
}

XyzPlotDialog* MainWindow::showXyzPlot() {
  if (!m_xyzPlot) {
    m_xyzPlot = new XyzPlotDialog(m_queue, [this] { return jobFromForm(); }, this);
    // A checkpoint value may also name one of the recent models.
    m_xyzPlot->setCheckpointFinder([this](const QString& value, const QString& baseModel) {
      const QString recent = recentByName(m_settings->recentModels(), value);
      if (!recent.isEmpty()) return recent;
      return QString::fromStdString(pipeline::find_checkpoint_near(value.toStdString(), baseModel.toStdString()));
    });
    connect(m_xyzPlot, &XyzPlotDialog::message, this, &MainWindow::setStatus);
    connect(m_xyzPlot, &XyzPlotDialog::gridSaved, this, [this](const QStringList& paths, const QImage& grid) {
      m_preview->setImages({grid});
      setCurrentImage(paths.first(), grid);
      m_galleryModel->refresh();
    });
  }
  m_xyzPlot->show();
  m_xyzPlot->raise();
  return m_xyzPlot;
}

void MainWindow::buildActions() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("Open &model file…"), QKeySequence::Open, m_model, &ModelPicker::chooseFile);
  file->addAction(tr("Open model &folder…"), m_model, &ModelPicker::chooseFolder);
  file->addSeparator();
  file->addAction(tr("Open &image…"), this, &MainWindow::openImage);
  file->addAction(tr("&Save image as…"), QKeySequence::Save, this, &MainWindow::saveImageAs);
  file->addAction(tr("&Copy image"), QKeySequence(tr("Ctrl+Shift+C")), this, &MainWindow::copyImage);
  file->addAction(tr("Output &folder…"), this, &MainWindow::chooseOutputDir);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  edit->addAction(tr("&Paste parameters"), QKeySequence(tr("Ctrl+Shift+V")), this, &MainWindow::pasteParameters);
  edit->addAction(tr("&Load settings from image…"), this, &MainWindow::loadSettingsFromImage);
  edit->addSeparator();
  edit->addAction(tr("Send image to image &to image"), QKeySequence(tr("Ctrl+Shift+I")), this,
                  &MainWindow::sendCurrentToImageToImage);
  edit->addAction(tr("Open &starting picture…"), m_initImage, &InitImagePanel::choosePicture);

  QMenu* tools = menuBar()->addMenu(tr("&Tools"));
  tools->addAction(tr("&Train a LoRA…"), this, &MainWindow::showLoraTraining);
  tools->addAction(tr("Edit &styles…"), m_prompt->stylePicker(), &StylePicker::editStyles);
  tools->addAction(tr("Styles &file…"), this, &MainWindow::chooseStylesFile);
  tools->addAction(tr("&Wildcards folder…"), this, &MainWindow::chooseWildcardsDir);

  QMenu* view = menuBar()->addMenu(tr("&View"));
  view->addAction(m_imageDock->toggleViewAction());
  view->addAction(m_loraDock->toggleViewAction());
  view->addAction(m_controlDock->toggleViewAction());

  QMenu* run = menuBar()->addMenu(tr("&Generate"));
  m_generateAction = run->addAction(tr("&Generate"), this, &MainWindow::generate);
  m_generateAction->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
  m_cancelAction = run->addAction(tr("&Cancel"), this, &MainWindow::cancel);
  m_cancelAction->setShortcut(QKeySequence(Qt::Key_Escape));
  m_cancelAction->setEnabled(false);
  run->addSeparator();
  run->addAction(tr("&X/Y/Z plot…"), this, &MainWindow::showXyzPlot);
}

void MainWindow::connectQueue() {
  connect(m_queue, &GenerationQueue::jobStarted, this, [this](quint64) {
    setStatus(tr("Starting…"));
    m_progress->setRange(0, 0);
  });
  connect(m_queue, &GenerationQueue::loadingModel, this, [this](quint64, const QString& path) {
    setStatus(tr("Loading model %1…").arg(QFileInfo(path).fileName()));
    m_progress->setRange(0, 0);
  });
  connect(m_queue, &GenerationQueue::modelLoaded, this,
          [this](quint64, const QString& name) { setStatus(tr("Model %1 loaded; encoding the prompt…").arg(name)); });
  connect(m_queue, &GenerationQueue::progress, this, &MainWindow::showProgress);
  connect(m_queue, &GenerationQueue::jobFinished, this, &MainWindow::showResult);
  connect(m_queue, &GenerationQueue::jobFailed, this, [this](quint64, const QString& message) {
    showError(message);
    setStatus(tr("Failed"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
  });
  connect(m_queue, &GenerationQueue::jobCancelled, this, [this](quint64) {
    setStatus(tr("Cancelled"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
  });
  connect(m_queue, &GenerationQueue::pendingChanged, this, &MainWindow::updateQueueLabel);
  // A server out of reach: the job waits again, and the queue with it, until Generate.
  connect(m_queue, &GenerationQueue::connectionLost, this, [this](quint64, const QString& message) {
    showError(tr("%1. The job waits in the queue: Generate sends it again, Cancel drops it.").arg(message));
    setStatus(message);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
  });
  connect(m_queue, &GenerationQueue::busyChanged, this, [this](bool busy) {
    const bool cancellable = busy || m_queue->isPaused();  // a held queue can be dropped
    m_cancelButton->setEnabled(cancellable);
    m_cancelAction->setEnabled(cancellable);
    updateQueueLabel();
  });
}

void MainWindow::restoreState() {
  m_model->setRecentModels(m_settings->recentModels());
  m_model->setRecentRefiners(m_settings->recentRefiners());
  m_parameters->vaeChoice()->setRecent(m_settings->recentAutoencoders());
  m_parameters->previewVaeChoice()->setRecent(m_settings->recentAutoencoders());
  applySettings(m_settings->generation());
  setOutputDir(m_settings->outputDir());
  m_prompt->stylePicker()->setFile(m_settings->stylesFile());
  m_prompt->stylePicker()->setChosen(m_settings->chosenStyles());
  const QByteArray geometry = m_settings->layout(QStringLiteral("geometry"));
  if (!geometry.isEmpty()) {
    restoreGeometry(geometry);
  } else {
    resize(1320, 820);
  }
  m_splitter->restoreState(m_settings->layout(QStringLiteral("mainSplitter")));
  QMainWindow::restoreState(m_settings->layout(QStringLiteral("windowState")));  // the docks
  m_gallery->splitter()->restoreState(m_settings->layout(QStringLiteral("gallerySplitter")));
}

void MainWindow::saveSettings() {
  m_saveTimer->stop();
  m_settings->setGeneration(formSettings());
  m_settings->setOutputDir(m_outputDir);
  m_settings->setStylesFile(m_prompt->stylePicker()->file());
  m_settings->setChosenStyles(m_prompt->stylePicker()->chosen());
  m_settings->setLayout(QStringLiteral("geometry"), saveGeometry());
  m_settings->setLayout(QStringLiteral("mainSplitter"), m_splitter->saveState());
  m_settings->setLayout(QStringLiteral("windowState"), saveState());
  m_settings->setLayout(QStringLiteral("gallerySplitter"), m_gallery->splitter()->saveState());
  m_settings->sync();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  m_queue->cancelAll();
  QMainWindow::closeEvent(event);
}

GenerationSettings MainWindow::formSettings() const {
  GenerationSettings s;
  s.request.prompt = m_prompt->prompt().toStdString();
  s.request.negative_prompt = m_prompt->negativePrompt().toStdString();
  s.request = m_parameters->request(s.request);
  s.request = m_loras->request(s.request);
  s.request = m_controls->request(s.request);
  s.request = m_initImage->request(s.request);
  s.request = m_hires->request(s.request);
  s.imageMode = m_initImage->mode();
  s.initImagePath = m_initImage->picturePath();
  s.brushSize = m_initImage->brushSpin()->value();
  s.model = m_model->options();
  s.request.refiner = m_model->refiner();
  s.seedLocked = m_parameters->seedLocked();
  s.batchCount = m_parameters->batchCount();
  s.upscalerFolder = m_hires->folder();
  s.server = m_runOn->server();
  s.runOnServer = m_runOn->onServer();
  return s;
}

void MainWindow::applySettings(const GenerationSettings& settings) {
  m_prompt->setPrompt(QString::fromStdString(settings.request.prompt));
  m_prompt->setNegativePrompt(QString::fromStdString(settings.request.negative_prompt));
  m_parameters->setRequest(settings.request);
  m_parameters->setSeedLocked(settings.seedLocked);
  m_parameters->setBatchCount(settings.batchCount);
  m_model->setOptions(settings.model);
  m_model->setRefiner(settings.request.refiner);
  m_loras->setFolder(QString::fromStdString(settings.request.loras.folder));
  m_loras->setCheckedLoras(settings.request.loras.adapters);
  m_loras->partialCheck()->setChecked(settings.request.loras.allow_partial);
  m_initImage->setRequest(settings.request);
  m_controls->setRequest(settings.request);
  m_hires->setRequest(settings.request);
  m_hires->setFolder(settings.upscalerFolder);
  m_runOn->setServer(settings.server, settings.runOnServer);
  if (settings.runOnServer) m_runOn->connectToServer();  // its models and LoRAs, in the background
  m_initImage->brushSpin()->setValue(settings.brushSize);
  m_initImage->setSteps(settings.request.sampling.steps);
  if (!settings.initImagePath.isEmpty() && QFileInfo(settings.initImagePath).isFile())
    m_initImage->loadPicture(settings.initImagePath);
  m_initImage->setMode(m_initImage->picture().isNull() ? ImageMode::Text : settings.imageMode);
}

api::RefinerSettings MainWindow::restoredRefiner(const RestoredSettings& restored) const {
  api::RefinerSettings refiner = restored.request.refiner;
  if (refiner.given() && QFileInfo::exists(QString::fromStdString(refiner.path))) return refiner;
  refiner.path = recentByName(m_settings->recentRefiners(), restored.refinerName).toStdString();
  return refiner;
}

QString MainWindow::restoredVae(const RestoredSettings& restored) const {
  const QString path = QString::fromStdString(restored.request.vae);
  if (!path.isEmpty() && QFileInfo::exists(path)) return path;
  return recentByName(m_settings->recentAutoencoders(), restored.vaeName);
}

QString MainWindow::choicesKey() const { return QString::fromStdString(m_model->options().model_path); }

void MainWindow::showModelChoices() {
  const ModelChoices choices = m_settings->modelChoices(choicesKey());
  m_showingModelChoices = true;
  m_parameters->vaeChoice()->setPath(choices.vae);
  m_parameters->previewVaeChoice()->setPath(choices.previewVae);
  m_showingModelChoices = false;
  const auto& summary = m_model->summary();
  if (summary && summary->prediction_is_a_choice) {
    if (m_model->prediction() != choices.prediction) m_model->setPrediction(choices.prediction);  // reads it again
  }
}

void MainWindow::rememberModelChoices() {
  if (m_showingModelChoices) return;
  ModelChoices choices;
  const auto& summary = m_model->summary();
  if (summary && summary->prediction_is_a_choice) choices.prediction = m_model->prediction();
  choices.vae = m_parameters->vaeChoice()->path();
  choices.previewVae = m_parameters->previewVaeChoice()->path();
  m_settings->setModelChoices(choicesKey(), choices);
}

bool MainWindow::applyRestored(const RestoredSettings& restored) {
  if (!restored.found) return false;
  m_prompt->setPrompt(QString::fromStdString(restored.request.prompt));
  m_prompt->setNegativePrompt(QString::fromStdString(restored.request.negative_prompt));
  m_parameters->setRequest(restored.request);
  m_parameters->setSeedLocked(true);  // the point of restoring is to get the same picture
  const QStringList missingLoras = m_loras->setCheckedLoras(restored.request.loras.adapters);
  m_initImage->setRequest(restored.request);
  m_controls->setRequest(restored.request);
  m_hires->setRequest(restored.request);
  // The starting picture itself is not in the file (only its hash): keep the one at hand.
  const bool fromPicture = !restored.initImageHash.isEmpty();
  const bool masked = !restored.maskHash.isEmpty();
  if (!fromPicture) {
    m_initImage->setMode(ImageMode::Text);
  } else if (!m_initImage->picture().isNull()) {
    m_initImage->setMode(masked ? ImageMode::Inpaint : ImageMode::Image);
  }
  QStringList notes;  // what restoring could not do, for the status line
  QString model;
  if (!restored.modelPath.isEmpty() && QFileInfo::exists(restored.modelPath)) {
    model = restored.modelPath;
  } else if (!restored.modelName.isEmpty()) {
    // Other programs record only a name: look for it among the models used before.
    model = recentByName(m_settings->recentModels(), restored.modelName);
    if (model.isEmpty()) notes << tr("the model \"%1\" is not among the recent models").arg(restored.modelName);
  }
  if (!model.isEmpty()) m_model->setModelPath(model);
  m_model->setRefiner(restoredRefiner(restored));
  m_parameters->vaeChoice()->setPath(restoredVae(restored));
  if (!missingLoras.isEmpty())
    notes << tr("LoRA not found in the LoRA folder: %1").arg(missingLoras.join(QStringLiteral(", ")));
  else if (fromPicture && m_initImage->picture().isNull())
    notes << tr("the image was made from a picture: drop it on the window to use it again");
  // Another program's settings that have no counterpart here, and SDXL's second prompt,
  // which the form does not show.
  QStringList unmapped = restored.unmapped;
  if (!restored.request.prompt_2.empty()) unmapped << tr("second prompt: %1").arg(QString::fromStdString(restored.request.prompt_2));
  if (!unmapped.isEmpty()) notes << tr("not restored: %1").arg(unmapped.join(QStringLiteral("; ")));
  const QString what = restored.source.isEmpty() || restored.source.startsWith(QStringLiteral("Latent Studio"))
                           ? tr("Settings restored")
                           : tr("Settings from %1 restored").arg(restored.source);
  if (!notes.isEmpty())
    setStatus(what + QStringLiteral("; ") + notes.join(QStringLiteral("; ")) + QLatin1Char('.'));
  else if (!restored.source.isEmpty() && what != tr("Settings restored"))
    setStatus(what + QLatin1Char('.'));
  m_saveTimer->start();
  return true;
}

bool MainWindow::applyImageSettings(const QString& path) {
  const bool ok = applyRestored(readImageSettings(path, formSettings().request));
  if (!ok) setStatus(tr("%1 carries no generation settings.").arg(QFileInfo(path).fileName()));
  return ok;
}

bool MainWindow::applyParametersText(const QString& text) {
  return applyRestored(settingsFromParametersText(text, formSettings().request));
}

void MainWindow::pasteParameters() {
  if (!applyParametersText(QApplication::clipboard()->text()))
    setStatus(tr("The clipboard holds no generation parameters."));
}

namespace {

// The images whose settings can be read (core/image/file_metadata.h), for file dialogs.
QString imageFilesFilter() {
  return MainWindow::tr("Images (*.png *.jpg *.jpeg *.webp);;All files (*)");
}

}  // namespace

void MainWindow::loadSettingsFromImage() {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Load settings from an image"), m_outputDir, imageFilesFilter());
  if (!path.isEmpty()) applyImageSettings(path);
}

void MainWindow::openImage() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open an image"), m_outputDir, imageFilesFilter());
  if (!path.isEmpty()) showImageDetails(path);
}

void MainWindow::showImageDetails(const QString& path) {
  m_gallery->details()->showImage(path);
  if (m_gallery->details()->source().isEmpty())
    setStatus(tr("%1 carries no generation settings.").arg(QFileInfo(path).fileName()));
  else
    setStatus(tr("%1 was made with %2.").arg(QFileInfo(path).fileName(), m_gallery->details()->source()));
}

void MainWindow::setOutputDir(const QString& dir) {
  m_outputDir = dir;
  QDir().mkpath(dir);
  m_galleryModel->setFolder(dir);
  statusBar()->showMessage(tr("Saving to %1").arg(QDir::toNativeSeparators(dir)));
}

void MainWindow::chooseOutputDir() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Output folder"), m_outputDir);
  if (dir.isEmpty()) return;
  setOutputDir(dir);
  saveSettings();
}

bool MainWindow::sendToImageToImage(const QString& path) {
  if (!m_initImage->loadPicture(path)) return false;  // switches text to image mode to image to image
  showImageDock();
  setStatus(tr("%1 is the starting picture").arg(QFileInfo(path).fileName()));
  return true;
}

void MainWindow::sendCurrentToImageToImage() {
  if (!m_currentImagePath.isEmpty() && QFileInfo(m_currentImagePath).isFile()) {
    sendToImageToImage(m_currentImagePath);
  } else if (!m_currentImage.isNull()) {
    m_initImage->setPicture(m_currentImage);
    showImageDock();
  } else {
    setStatus(tr("There is no image to send yet."));
  }
}

void MainWindow::upscaleImage(const QString& path) {
  if (path.isEmpty()) return;
  UpscaleDialog dialog(path, m_hires->upscalerFolder(), this);
  if (dialog.exec() == QDialog::Accepted) queueUpscale(dialog.job());
}

quint64 MainWindow::queueUpscale(const UpscaleJob& upscale) {
  clearError();
  GenerationJob job;
  job.model = m_model->options();  // its device; no model is loaded for an upscale
  job.upscale = upscale;
  const quint64 id = m_queue->enqueue(job);
  setStatus(tr("Upscaling %1…").arg(QFileInfo(upscale.sourcePath).fileName()));
  updateQueueLabel();
  return id;
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (InitImagePanel::hasPicture(event->mimeData())) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  if (!m_initImage->takeMimeData(event->mimeData())) return;
  event->acceptProposedAction();
  showImageDock();
}

// Refuses, before anything is queued, what the engine would refuse after loading the model.
bool MainWindow::checkImageRequest(const api::GenerationRequest& request) {
  QString problem = m_initImage->problem();
  if (problem.isEmpty()) {
    try {
      pipeline::validate_image_request(request);
    } catch (const std::exception& error) {
      problem = QString::fromUtf8(error.what());
    }
  }
  if (problem.isEmpty()) return true;
  showError(problem);
  showImageDock();
  return false;
}

std::optional<GenerationJob> MainWindow::jobFromForm() {
  clearError();
  m_model->probeNow();  // a path typed a moment ago: its family decides the refiner and LoRAs
  const GenerationSettings s = formSettings();
  if (!checkImageRequest(s.request)) return std::nullopt;
  GenerationJob job;
  job.model = s.model;
  try {
    // The chosen styles go into the prompts now, as the web UI applies them; the prompt boxes
    // keep what was typed. Wildcards are drawn by the engine, with the job's seed.
    job.request = m_prompt->stylePicker()->styled(s.request);
  } catch (const std::exception& error) {
    showError(QString::fromUtf8(error.what()));
    return std::nullopt;
  }
  job.request.wildcards_dir = m_settings->wildcardsDir().toStdString();
  job.request.sampling.seed = m_parameters->takeSeed();
  job.outputDir = m_outputDir;
  if (s.runOnServer) job.server = s.server;
  return job;
}

void MainWindow::chooseStylesFile() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Styles file (the web UI's styles.csv)"),
                                                    m_prompt->stylePicker()->file(), tr("Styles (*.csv)"), nullptr,
                                                    QFileDialog::DontConfirmOverwrite);
  if (path.isEmpty()) return;
  m_prompt->stylePicker()->setFile(path);
  saveSettings();
}

void MainWindow::chooseWildcardsDir() {
  const QString dir = QFileDialog::getExistingDirectory(
      this, tr("Wildcards folder: __name__ in a prompt takes a line of name.txt there"), m_settings->wildcardsDir());
  if (dir.isEmpty()) return;
  m_settings->setWildcardsDir(dir);
  setStatus(tr("Wildcards from %1").arg(dir));
}

void MainWindow::generate() {
  const std::optional<GenerationJob> first = jobFromForm();
  if (!first) return;
  for (int i = 0; i < m_parameters->batchCount(); ++i) {
    GenerationJob job = *first;
    job.request.sampling.seed += static_cast<uint64_t>(i);
    m_queue->enqueue(job);
  }
  const QString model = QString::fromStdString(first->model.model_path);
  if (!model.isEmpty()) {
    m_settings->addRecentModel(model);
    m_model->setRecentModels(m_settings->recentModels());
  }
  saveSettings();
  updateQueueLabel();
}

void MainWindow::cancel() {
  if (!m_queue->isBusy() && !m_queue->isPaused()) return;
  const bool running = m_queue->isBusy();
  m_queue->cancelAll();
  if (running) return setStatus(tr("Cancelling…"));
  // A held queue: nothing runs, the waiting jobs are gone.
  m_cancelButton->setEnabled(false);
  m_cancelAction->setEnabled(false);
  setStatus(tr("The waiting jobs were dropped."));
}

void MainWindow::showProgress(quint64 jobId, const GenerationProgress& p) {
  if (jobId != m_queue->currentJob()) return;  // a late report of an earlier job
  if (!p.previews.isEmpty()) m_preview->setImages(p.previews);
  m_progress->setRange(0, p.totalSteps);
  m_progress->setValue(p.step);
  if (p.tiles) {
    setStatus(tr("Upscaling: tile %1/%2 · %3 left").arg(p.step).arg(p.totalSteps).arg(formatSeconds(p.secondsLeft)));
    return;
  }
  setStatus(tr("Step %1/%2 · %3 s/step · %4 left%5")
                .arg(p.step)
                .arg(p.totalSteps)
                .arg(p.secondsPerStep, 0, 'f', p.secondsPerStep < 1 ? 2 : 1)
                .arg(formatSeconds(p.secondsLeft))
                .arg(p.previewsAreVaeDecodes ? tr(" · full preview") : QString()));
}

void MainWindow::showResult(quint64, const GenerationOutput& output) {
  m_preview->setImages(output.images);
  // Image to image runs fewer steps than asked for (steps × strength): keep the count shown.
  const int steps = output.request.sampling.steps;
  if (m_progress->maximum() <= 1) m_progress->setRange(0, steps > 0 ? steps : 1);
  m_progress->setValue(m_progress->maximum());
  m_lastSaved = output.savedPaths;
  const double previewShare = output.secondsTotal > 0 ? 100.0 * output.secondsInPreviews / output.secondsTotal : 0;
  const QString loras = loraSummary(output.loras);
  // Which way the engine ran: normal memory use, or low-memory mode and why.
  const QString memory = output.memoryMode.isEmpty() ? QString() : QStringLiteral(" · ") + output.memoryMode;
  setStatus(tr("Done in %1 (previews %2%)").arg(formatSeconds(output.secondsTotal)).arg(previewShare, 0, 'f', 0) +
            memory + (loras.isEmpty() ? QString() : QStringLiteral(" · ") + loras));
  m_warning->setText(output.warnings.join(QLatin1Char('\n')));
  m_warning->setVisible(!output.warnings.isEmpty());
  if (!output.saveError.isEmpty())
    showError(tr("The image was not saved: %1. It is kept here: use File › Save image as… to save it elsewhere.")
                  .arg(output.saveError));
  if (!output.images.isEmpty()) {
    setCurrentImage(output.savedPaths.isEmpty() ? QString() : output.savedPaths.first(), output.images.first());
    if (!output.unsavedPng.isEmpty()) m_currentPng = output.unsavedPng.first();
  }
  if (!output.savedPaths.isEmpty()) m_galleryModel->refresh();
}

void MainWindow::updateQueueLabel() {
  const int waiting = m_queue->pendingCount();
  if (m_queue->isPaused() && waiting > 0)
    m_queueLabel->setText(tr("%n waiting in the queue (held: the server is out of reach)", nullptr, waiting));
  else
    m_queueLabel->setText(waiting > 0 ? tr("%n waiting in the queue", nullptr, waiting) : QString());
}

void MainWindow::setCurrentImage(const QString& path, const QImage& image) {
  m_currentImagePath = path;
  m_currentImage = image;
  m_currentPng.clear();
}

void MainWindow::saveImageAs() {
  QImage image = m_currentImage;
  if (image.isNull() && !m_currentImagePath.isEmpty()) image.load(m_currentImagePath);
  if (image.isNull()) {
    setStatus(tr("There is no image to save yet."));
    return;
  }
  QStringList filters{tr("PNG image with parameters (*.png)"), tr("JPEG image (*.jpg *.jpeg)")};
  if (QImageWriter::supportedImageFormats().contains("webp")) filters << tr("WebP image (*.webp)");
  QString selected;
  const QString start = m_currentImagePath.isEmpty() ? m_outputDir : m_currentImagePath;
  QString target = QFileDialog::getSaveFileName(this, tr("Save image as"), start, filters.join(QStringLiteral(";;")), &selected);
  if (target.isEmpty()) return;
  if (QFileInfo(target).suffix().isEmpty()) {
    target += selected.contains(QStringLiteral("*.jpg")) ? QStringLiteral(".jpg")
              : selected.contains(QStringLiteral("*.webp")) ? QStringLiteral(".webp")
                                                              : QStringLiteral(".png");
  }
  saveCurrentImageTo(target);
}

bool MainWindow::saveCurrentImageTo(const QString& target) {
  QImage image = m_currentImage;
  if (image.isNull() && !m_currentImagePath.isEmpty()) image.load(m_currentImagePath);
  if (image.isNull()) {
    setStatus(tr("There is no image to save yet."));
    return false;
  }
  const QString suffix = QFileInfo(target).suffix().toLower();
  bool ok = false;
  if (suffix == QLatin1String("png") && !m_currentImagePath.isEmpty()) {
    // A copy of the saved file keeps its metadata.
    if (QFileInfo(target).absoluteFilePath() == QFileInfo(m_currentImagePath).absoluteFilePath()) return true;
    QFile::remove(target);
    ok = QFile::copy(m_currentImagePath, target);
  } else if (suffix == QLatin1String("png") && !m_currentPng.isEmpty()) {
    // A result that could not be saved: its PNG with metadata, written whole or not at all.
    try {
      image::write_file_atomically(target.toStdString(),
                                   std::vector<unsigned char>(m_currentPng.begin(), m_currentPng.end()));
      ok = true;
    } catch (const std::exception&) {
      ok = false;
    }
  } else {
    ok = image.save(target, nullptr, 95);
  }
  if (ok) {
    setStatus(tr("Saved %1").arg(QDir::toNativeSeparators(target)));
  } else {
    showError(tr("Could not save %1.").arg(QDir::toNativeSeparators(target)));
  }
  return ok;
}

void MainWindow::copyImage() {
  QImage image = m_currentImage;
  if (image.isNull() && !m_currentImagePath.isEmpty()) image.load(m_currentImagePath);
  if (image.isNull()) return;
  QApplication::clipboard()->setImage(image);
  setStatus(tr("Image copied"));
}

void MainWindow::showError(const QString& message) {
  m_error->setText(message);
  m_error->show();
}

void MainWindow::clearError() {
  m_error->clear();
  m_error->hide();
  m_warning->clear();
  m_warning->hide();
}

void MainWindow::setStatus(const QString& text) { m_status->setText(text); }

QString MainWindow::errorText() const { return m_error->text(); }
QString MainWindow::statusText() const { return m_status->text(); }
QString MainWindow::queueText() const { return m_queueLabel->text(); }
QString MainWindow::warningText() const { return m_warning->text(); }

}  // namespace latent::ui
