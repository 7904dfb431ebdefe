#include "ui/xyz_plot_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>
#include <exception>

#include "core/pipeline/engine.h"
#include "core/pipeline/request_validation.h"
#include "core/pipeline/xyz_plan.h"
#include "core/util/error.h"
#include "ui/generation_queue.h"
#include "ui/xyz_plot_run.h"

namespace latent::ui {
namespace {

using pipeline::AxisType;

// What the values box of each axis type expects, shown while it is empty.
QString placeholderFor(AxisType type) {
  switch (type) {
    case AxisType::nothing: return {};
    case AxisType::seed: return QObject::tr("1, 2, 3 or 1-10; -1 draws a random seed");
    case AxisType::steps: return QObject::tr("10, 20, 30 or 10-30 (+10) or 10-50 [5]");
    case AxisType::guidance: return QObject::tr("3, 7.5, 12 or 1-13 (+3)");
    case AxisType::sampler: return QObject::tr("Euler a, DPM++ 2M Karras, lms, …");
    case AxisType::prompt_sr: return QObject::tr("text in the prompt, its replacement, another, \"one, with a comma\"");
    case AxisType::lora_multiplier: return QObject::tr("0, 0.5, 1 or 0-1 [5] (the one LoRA of the form)");
    case AxisType::checkpoint: return QObject::tr("model files or folders, or names of recent models");
    case AxisType::strength: return QObject::tr("0.3, 0.5, 0.7 (image to image or the hires fix)");
    case AxisType::clip_skip: return QObject::tr("1, 2");
  }
  return {};
}

}  // namespace

XyzPlotDialog::XyzPlotDialog(GenerationQueue* queue, JobSource source, QWidget* parent)
    : QDialog(parent),
      m_queue(queue),
      m_source(std::move(source)),
      m_keepImages(new QCheckBox(tr("Keep each image in the output folder"), this)),
      m_legend(new QCheckBox(tr("Draw legend"), this)),
      m_zLayout(new QComboBox(this)),
      m_run(new QPushButton(tr("&Run"), this)),
      m_cancel(new QPushButton(tr("Cancel plot"), this)),
      m_message(new QLabel(this)) {
  setWindowTitle(tr("X/Y/Z plot"));
  auto* form = new QFormLayout;
  const char* const names[] = {"X", "Y", "Z"};
  for (int axis = 0; axis < 3; ++axis) {
    auto* type = new QComboBox(this);
    type->setObjectName(QStringLiteral("%1Type").arg(QString::fromLatin1(names[axis]).toLower()));
    for (const pipeline::AxisTypeInfo& info : pipeline::axis_types())
      type->addItem(QString::fromUtf8(info.label), static_cast<int>(info.type));
    auto* values = new QLineEdit(this);
    values->setObjectName(QStringLiteral("%1Values").arg(QString::fromLatin1(names[axis]).toLower()));
    values->setToolTip(tr("Comma-separated; \"quoted\" where a value holds a comma; numbers also as ranges: "
                          "1-5, 1-10 (+2) (a step), 1-10 [5] (a count). Prompt S/R: the first value is the "
                          "text that each value replaces."));
    m_types[static_cast<std::size_t>(axis)] = type;
    m_values[static_cast<std::size_t>(axis)] = values;
    connect(type, qOverload<int>(&QComboBox::currentIndexChanged), this, [this, axis] { updatePlaceholder(axis); });
    auto* row = new QHBoxLayout;
    row->addWidget(type);
    row->addWidget(values, 1);
    form->addRow(tr("%1 type:").arg(QLatin1String(names[axis])), row);
  }
  m_types[0]->setCurrentIndex(m_types[0]->findData(static_cast<int>(AxisType::seed)));  // as the web UI starts
  for (int axis = 0; axis < 3; ++axis) updatePlaceholder(axis);

  m_keepImages->setChecked(true);
  m_keepImages->setToolTip(tr("Off: only the grid is saved; each picture is made in a temporary folder"));
  m_legend->setChecked(true);
  m_zLayout->addItem(tr("Z grids side by side, in one picture"), static_cast<int>(image::ZLayout::side_by_side));
  m_zLayout->addItem(tr("One grid picture per Z value"), static_cast<int>(image::ZLayout::separate));
  form->addRow(QString(), m_keepImages);
  form->addRow(QString(), m_legend);
  form->addRow(tr("Z values:"), m_zLayout);

  m_message->setObjectName(QStringLiteral("xyzMessage"));
  m_message->setWordWrap(true);
  m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_run->setDefault(true);
  m_run->setToolTip(tr("Queue one generation per combination, with the main window's other settings"));
  m_cancel->setToolTip(tr("Stop the running picture and drop the plot's others"));
  auto* close = new QPushButton(tr("Close"), this);
  connect(m_run, &QPushButton::clicked, this, &XyzPlotDialog::run);
  connect(m_cancel, &QPushButton::clicked, this, [this] { m_queue->cancelAll(); });
  connect(close, &QPushButton::clicked, this, &QDialog::close);
  auto* buttons = new QHBoxLayout;
  buttons->addStretch(1);
  buttons->addWidget(m_run);
  buttons->addWidget(m_cancel);
  buttons->addWidget(close);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(m_message);
  layout->addLayout(buttons);
  setRunning(false);
  resize(620, sizeHint().height());
}

XyzPlotDialog::~XyzPlotDialog() = default;

QString XyzPlotDialog::messageText() const { return m_message->text(); }

XyzPlotRun* XyzPlotDialog::currentRun() const { return m_current; }

void XyzPlotDialog::showMessage(const QString& text, bool error) {
  m_message->setStyleSheet(error ? QStringLiteral("color: #b00020;") : QString());
  m_message->setText(text);
  if (!error) Q_EMIT message(text);
}

void XyzPlotDialog::setRunning(bool running) {
  m_run->setEnabled(!running);
  m_cancel->setEnabled(running);
}

void XyzPlotDialog::updatePlaceholder(int axis) {
  const auto type = static_cast<AxisType>(m_types[static_cast<std::size_t>(axis)]->currentData().toInt());
  QLineEdit* values = m_values[static_cast<std::size_t>(axis)];
  values->setPlaceholderText(placeholderFor(type));
  values->setEnabled(type != AxisType::nothing);
}

bool XyzPlotDialog::run() {
  if (m_current && m_current->isRunning()) {
    showMessage(tr("A plot is running: cancel it or wait for its grid."), true);
    return false;
  }
  std::array<pipeline::AxisSpec, 3> specs;
  for (std::size_t axis = 0; axis < specs.size(); ++axis) {
    specs[axis].type = static_cast<AxisType>(m_types[axis]->currentData().toInt());
    specs[axis].values = m_values[axis]->text().toStdString();
  }
  if (std::all_of(specs.begin(), specs.end(), [](const auto& s) { return s.type == AxisType::nothing; })) {
    showMessage(tr("Choose what at least one axis varies."), true);
    return false;
  }
  std::optional<GenerationJob> job = m_source();
  if (!job) {
    showMessage(tr("The main window's settings cannot run: see its message."), true);
    return false;
  }
  job->request.size.batch_size = 1;  // one picture per cell, as the web UI's plot makes
  const QString baseModel = QString::fromStdString(job->model.model_path);
  pipeline::XyzContext context;
  context.samplers = pipeline::sampler_names();
  context.validate_request = pipeline::validate_request;
  if (m_findCheckpoint)
    context.find_checkpoint = [this, baseModel](const std::string& value) {
      return m_findCheckpoint(QString::fromStdString(value), baseModel).toStdString();
    };
  std::optional<pipeline::XyzPlan> plan;
  try {
    plan = pipeline::make_xyz_plan(job->request, job->model.model_path, specs[0], specs[1], specs[2], context);
  } catch (const std::exception& error) {
    showMessage(QString::fromUtf8(error.what()), true);
    return false;
  }
  XyzPlotOptions options;
  options.outputDir = job->outputDir;
  options.keepImages = m_keepImages->isChecked();
  options.legend = m_legend->isChecked();
  options.zLayout = static_cast<image::ZLayout>(m_zLayout->currentData().toInt());
  if (m_current) m_current->deleteLater();
  auto* plot = new XyzPlotRun(m_queue, std::move(*plan), std::move(*job), options, this);
  m_current = plot;
  connect(plot, &XyzPlotRun::progressed, this, [this](int done, int total) {
    showMessage(tr("X/Y/Z plot: %1 of %2 pictures made").arg(done).arg(total));
  });
  connect(plot, &XyzPlotRun::finished, this, [this](const QStringList& paths, const QImage& grid, int failures) {
    setRunning(false);
    showMessage(failures == 0 ? tr("The grid is saved: %1").arg(paths.join(QStringLiteral(", ")))
                              : tr("The grid is saved (%n pictures failed and are black): %1", nullptr, failures)
                                    .arg(paths.join(QStringLiteral(", "))));
    Q_EMIT gridSaved(paths, grid);
  });
  connect(plot, &XyzPlotRun::failed, this, [this](const QString& text) {
    setRunning(false);
    showMessage(text, true);
  });
  connect(plot, &XyzPlotRun::cancelled, this, [this] {
    setRunning(false);
    showMessage(tr("The plot was cancelled; no grid was made."));
  });
  setRunning(true);
  plot->start();
  showMessage(tr("X/Y/Z plot: %n pictures queued", nullptr, plot->total()));
  return true;
}

}  // namespace latent::ui
