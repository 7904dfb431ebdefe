#include "ui/lora_training_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include "core/training/lora_training.h"
#include "core/util/error.h"
#include "core/util/starter_model.h"
#include "ui/loss_plot.h"

namespace latent::ui {

LoraTrainingDialog::LoraTrainingDialog(const QString& modelPath, const QString& loraFolder, QWidget* parent)
    : QDialog(parent),
      m_modelPath(modelPath),
      m_loraFolder(loraFolder),
      m_data(new QLineEdit(this)),
      m_name(new QLineEdit(QStringLiteral("my-lora"), this)),
      m_rank(new QSpinBox(this)),
      m_steps(new QSpinBox(this)),
      m_batch(new QSpinBox(this)),
      m_learningRate(new QDoubleSpinBox(this)),
      m_textEncoder(new QCheckBox(tr("Also adapt the text encoder"), this)),
      m_crossAttentionOnly(new QCheckBox(tr("Only the cross-attention (other prompts change least)"), this)),
      m_start(new QPushButton(tr("&Train"), this)),
      m_cancelButton(new QPushButton(tr("Cancel training"), this)),
      m_close(new QPushButton(tr("Close"), this)),
      m_progress(new QProgressBar(this)),
      m_message(new QLabel(this)),
      m_plot(new LossPlot(this)) {
  setWindowTitle(tr("Train a LoRA"));
  const training::LoraTrainingOptions defaults;

  m_data->setPlaceholderText(tr("Folder of pictures, each with a .txt caption beside it"));
  auto* browse = new QPushButton(tr("Choose…"), this);
  connect(browse, &QPushButton::clicked, this, &LoraTrainingDialog::chooseDataFolder);
  auto* dataRow = new QHBoxLayout;
  dataRow->addWidget(m_data, 1);
  dataRow->addWidget(browse);

  m_name->setToolTip(tr("The file written into the LoRA folder: NAME.safetensors"));
  m_rank->setRange(1, 128);
  m_rank->setValue(defaults.rank);
  m_rank->setToolTip(tr("Rank of the adapters: larger learns more and makes a larger file"));
  m_steps->setRange(1, 100000);
  m_steps->setValue(defaults.steps);
  m_batch->setRange(1, 256);
  m_batch->setValue(defaults.batch);
  m_learningRate->setDecimals(5);
  m_learningRate->setRange(1e-5, 1.0);
  m_learningRate->setSingleStep(1e-4);
  m_learningRate->setValue(defaults.learning_rate);

  const QString base = modelPath.isEmpty() ? tr("the %1").arg(QString::fromUtf8(util::kStarterModelLabel))
                                           : QFileInfo(modelPath).fileName();
  auto* form = new QFormLayout;
  form->addRow(tr("Base model:"), new QLabel(base, this));
  form->addRow(tr("Pictures:"), dataRow);
  form->addRow(tr("Name:"), m_name);
  form->addRow(tr("Rank:"), m_rank);
  form->addRow(tr("Steps:"), m_steps);
  form->addRow(tr("Pictures per step:"), m_batch);
  form->addRow(tr("Learning rate:"), m_learningRate);
  form->addRow(QString(), m_textEncoder);
  form->addRow(QString(), m_crossAttentionOnly);

  m_message->setWordWrap(true);
  m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_progress->setRange(0, 1);
  m_progress->setValue(0);

  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(m_start);
  buttons->addWidget(m_cancelButton);
  buttons->addWidget(m_close);
  m_start->setDefault(true);
  connect(m_start, &QPushButton::clicked, this, &LoraTrainingDialog::start);
  connect(m_cancelButton, &QPushButton::clicked, this, &LoraTrainingDialog::cancelTraining);
  connect(m_close, &QPushButton::clicked, this, &LoraTrainingDialog::reject);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_plot, 1);
  layout->addWidget(m_progress);
  layout->addWidget(m_message);
  layout->addLayout(buttons);
  setRunning(false);
}

LoraTrainingDialog::~LoraTrainingDialog() {
  m_cancel = true;
  m_future.waitForFinished();
}

QString LoraTrainingDialog::outputPath() const {
  return QDir(m_loraFolder).filePath(m_name->text().trimmed() + QStringLiteral(".safetensors"));
}

QString LoraTrainingDialog::messageText() const { return m_message->text(); }

void LoraTrainingDialog::chooseDataFolder() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Pictures with captions"), m_data->text());
  if (!dir.isEmpty()) m_data->setText(dir);
}

void LoraTrainingDialog::start() {
  if (isTraining()) return;
  const QString name = m_name->text().trimmed();
  QString problem;
  if (m_data->text().trimmed().isEmpty()) problem = tr("Choose the folder of pictures to learn from.");
  else if (m_loraFolder.isEmpty()) problem = tr("Choose a LoRA folder in the LoRA panel first: the result is written there.");
  else if (name.isEmpty() || name.contains(QLatin1Char('/')) || name.contains(QLatin1Char('\\')))
    problem = tr("Give the LoRA a name (without slashes).");
  else if (QFileInfo::exists(outputPath())) problem = tr("%1 exists already: choose another name.").arg(outputPath());
  if (!problem.isEmpty()) {
    m_message->setText(problem);
    return;
  }

  training::LoraTrainingOptions o;
  try {
    o.model_path = m_modelPath.isEmpty() ? util::starter_model_dir() : m_modelPath.toStdString();
  } catch (const Error& e) {
    m_message->setText(QString::fromStdString(e.what()));
    return;
  }
  o.data_dir = m_data->text().trimmed().toStdString();
  o.out_path = outputPath().toStdString();
  o.rank = m_rank->value();
  o.steps = m_steps->value();
  o.batch = m_batch->value();
  o.learning_rate = m_learningRate->value();
  o.train_text_encoder = m_textEncoder->isChecked();
  o.cross_attention_only = m_crossAttentionOnly->isChecked();
  QDir().mkpath(m_loraFolder);

  m_cancel = false;
  m_plot->clear();
  m_plot->setTotalSteps(o.steps);
  m_progress->setRange(0, o.steps);
  m_progress->setValue(0);
  m_message->setText(tr("Reading the pictures and loading the model…"));
  setRunning(true);
  // Progress and the end travel back as queued calls; once the dialog is gone they are dropped.
  m_future = QtConcurrent::run([this, o] {
    QString path, message;
    try {
      const auto result = training::train_lora(
          o,
          [this](const training::TrainingProgress& p) {
            QMetaObject::invokeMethod(this, [this, p] { showProgress(p); }, Qt::QueuedConnection);
          },
          &m_cancel);
      path = QString::fromStdString(o.out_path);
      message = tr("Saved %1: %2 pictures, %3 layers adapted, loss %4 → %5, %6 s.")
                    .arg(QFileInfo(path).fileName())
                    .arg(result.pictures)
                    .arg(result.modules)
                    .arg(result.first_loss, 0, 'f', 4)
                    .arg(result.last_loss, 0, 'f', 4)
                    .arg(result.seconds, 0, 'f', 0);
    } catch (const Cancelled&) {
      message = tr("Training cancelled; nothing was written.");
    } catch (const std::exception& e) {
      message = tr("Training failed: %1").arg(QString::fromStdString(e.what()));
    }
    QMetaObject::invokeMethod(this, [this, path, message] { finish(path, message); }, Qt::QueuedConnection);
  });
}

void LoraTrainingDialog::cancelTraining() {
  if (!isTraining()) return;
  m_cancel = true;
  m_message->setText(tr("Cancelling after this step…"));
}

void LoraTrainingDialog::reject() {
  if (isTraining()) {
    cancelTraining();
    m_future.waitForFinished();
  }
  QDialog::reject();
}

void LoraTrainingDialog::showProgress(const training::TrainingProgress& p) {
  m_plot->add(p.step, p.loss, p.average_loss);
  m_progress->setValue(p.step);
  if (!m_cancel)
    m_message->setText(tr("Step %1 of %2, loss %3, about %4 s left")
                           .arg(p.step)
                           .arg(p.total_steps)
                           .arg(p.average_loss, 0, 'f', 4)
                           .arg(p.seconds_left, 0, 'f', 0));
}

void LoraTrainingDialog::finish(const QString& path, const QString& message) {
  m_future.waitForFinished();
  setRunning(false);
  m_message->setText(message);
  Q_EMIT trainingEnded(path);
}

void LoraTrainingDialog::setRunning(bool running) {
  for (QWidget* w : std::initializer_list<QWidget*>{m_data, m_name, m_rank, m_steps, m_batch, m_learningRate,
                                                    m_textEncoder, m_crossAttentionOnly, m_start})
    w->setEnabled(!running);
  m_cancelButton->setEnabled(running);
}

}  // namespace latent::ui
