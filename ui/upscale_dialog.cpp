#include "ui/upscale_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QImageReader>
#include <QLabel>
#include <QPushButton>

#include "ui/upscaler_folder.h"

namespace latent::ui {

UpscaleDialog::UpscaleDialog(const QString& sourcePath, UpscalerFolder* folder, QWidget* parent)
    : QDialog(parent),
      m_source(sourcePath),
      m_sourceSize(QImageReader(sourcePath).size()),
      m_folder(folder),
      m_upscaler(new QComboBox(this)),
      m_scale(new QDoubleSpinBox(this)),
      m_size(new QLabel(this)) {
  setObjectName(QStringLiteral("upscaleDialog"));
  setWindowTitle(tr("Upscale %1").arg(QFileInfo(sourcePath).fileName()));
  m_upscaler->setObjectName(QStringLiteral("upscaleUpscaler"));
  m_upscaler->setToolTip(tr("Networks come from the upscaler folder (Hires fix panel)"));
  m_scale->setObjectName(QStringLiteral("upscaleScale"));
  m_scale->setRange(1.0, 8.0);
  m_scale->setSingleStep(0.25);
  m_scale->setDecimals(2);
  m_scale->setValue(2.0);
  m_scale->setPrefix(QStringLiteral("×"));
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Upscale"));
  connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

  auto* form = new QFormLayout(this);
  form->addRow(tr("Upscaler"), m_upscaler);
  form->addRow(tr("Upscale by"), m_scale);
  form->addRow(tr("Size"), m_size);
  form->addRow(new QLabel(tr("Saved as a new picture beside this one, with its parameters."), this));
  form->addRow(buttons);

  fillUpscalers();
  connect(m_upscaler, qOverload<int>(&QComboBox::currentIndexChanged), this, &UpscaleDialog::upscalerChosen);
  connect(m_scale, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &UpscaleDialog::updateSize);
  if (m_folder) connect(m_folder, &UpscalerFolder::changed, this, &UpscaleDialog::fillUpscalers);
  upscalerChosen();
}

void UpscaleDialog::fillUpscalers() {
  const int before = m_upscaler->currentIndex();
  fillUpscalerCombo(m_upscaler, m_folder ? m_folder->entries() : QList<UpscalerEntry>(), false);
  if (before < 0) {
    // A network is what people come for: the first usable one, else Lanczos.
    const QAbstractItemModel* items = m_upscaler->model();
    for (int i = 0; i < m_upscaler->count(); ++i) {
      const bool usable = items->flags(items->index(i, 0)).testFlag(Qt::ItemIsEnabled);
      if (usable && QFileInfo(m_upscaler->itemData(i).toString()).isAbsolute()) {
        m_upscaler->setCurrentIndex(i);
        break;
      }
    }
  }
}

void UpscaleDialog::upscalerChosen() {
  if (m_folder) {
    const QString path = m_upscaler->currentData().toString();
    for (const UpscalerEntry& entry : m_folder->entries())
      if (entry.path == path && entry.usable()) m_scale->setValue(entry.scale);
  }
  updateSize();
}

void UpscaleDialog::updateSize() {
  if (!m_sourceSize.isValid()) {
    m_size->setText(tr("The picture cannot be read."));
    return;
  }
  const double scale = m_scale->value();
  m_size->setText(tr("%1 × %2 → %3 × %4")
                      .arg(m_sourceSize.width())
                      .arg(m_sourceSize.height())
                      .arg(int(m_sourceSize.width() * scale))
                      .arg(int(m_sourceSize.height() * scale)));
}

QString UpscaleDialog::sizeText() const { return m_size->text(); }

UpscaleJob UpscaleDialog::job() const {
  UpscaleJob job;
  job.sourcePath = m_source;
  job.upscaler = m_upscaler->currentData().toString();
  job.scale = m_scale->value();
  return job;
}

void UpscaleDialog::setJob(const UpscaleJob& job) {
  selectUpscaler(m_upscaler, job.upscaler);
  if (job.scale > 0) m_scale->setValue(job.scale);
  updateSize();
}

}  // namespace latent::ui
