#pragma once

// "Train a LoRA…": the GUI face of train-lora. The person picks a folder of pictures
// with .txt captions, a name, the rank, steps and learning rate; training runs on a
// thread of its own while a live plot shows the loss; Cancel stops it between steps and
// writes nothing. The finished file lands in the LoRA folder, where the LoRA panel lists it.

#include <QDialog>
#include <QFuture>
#include <QString>

#include <atomic>

#include "core/training/training_progress.h"

class QCheckBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace latent::ui {

class LossPlot;

class LoraTrainingDialog : public QDialog {
  Q_OBJECT

 public:
  // `modelPath`: the base model the LoRA is trained on (empty = the starter model);
  // `loraFolder`: where the result is written.
  LoraTrainingDialog(const QString& modelPath, const QString& loraFolder, QWidget* parent = nullptr);
  ~LoraTrainingDialog() override;  // cancels a run and waits for it

  bool isTraining() const { return m_future.isRunning(); }
  QString outputPath() const;  // the LoRA folder / name.safetensors

  // The controls, for tests.
  QLineEdit* dataEdit() const { return m_data; }
  QLineEdit* nameEdit() const { return m_name; }
  QSpinBox* rankSpin() const { return m_rank; }
  QSpinBox* stepsSpin() const { return m_steps; }
  QSpinBox* batchSpin() const { return m_batch; }
  QDoubleSpinBox* learningRateSpin() const { return m_learningRate; }
  QCheckBox* textEncoderCheck() const { return m_textEncoder; }
  QCheckBox* crossAttentionCheck() const { return m_crossAttentionOnly; }
  QPushButton* startButton() const { return m_start; }
  QPushButton* cancelButton() const { return m_cancelButton; }
  LossPlot* plot() const { return m_plot; }
  QString messageText() const;

 public Q_SLOTS:
  void start();
  void cancelTraining();
  void chooseDataFolder();

 Q_SIGNALS:
  // A run ended: `path` is the written LoRA, empty when it failed or was cancelled.
  void trainingEnded(const QString& path);

 protected:
  void reject() override;  // Esc or the close button: cancels a run first

 private:
  void showProgress(const training::TrainingProgress& progress);
  void finish(const QString& path, const QString& message);
  void setRunning(bool running);

  QString m_modelPath;
  QString m_loraFolder;
  QLineEdit* m_data;
  QLineEdit* m_name;
  QSpinBox* m_rank;
  QSpinBox* m_steps;
  QSpinBox* m_batch;
  QDoubleSpinBox* m_learningRate;
  QCheckBox* m_textEncoder;
  QCheckBox* m_crossAttentionOnly;
  QPushButton* m_start;
  QPushButton* m_cancelButton;
  QPushButton* m_close;
  QProgressBar* m_progress;
  QLabel* m_message;
  LossPlot* m_plot;
  std::atomic<bool> m_cancel{false};
  QFuture<void> m_future;
};

}  // namespace latent::ui
