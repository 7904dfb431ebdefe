#include "ui/hires_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

#include "core/api/upscaler_names.h"
#include "ui/sampler_items.h"
#include "ui/upscaler_folder.h"

namespace latent::ui {

HiresPanel::HiresPanel(QWidget* parent) : QWidget(parent) {
  const api::SecondPass defaults;
  m_group = new QGroupBox(tr("Hires fix"), this);
  m_group->setCheckable(true);
  m_group->setChecked(false);
  m_group->setToolTip(tr("Draw at the size set above, upscale, then repaint the large picture: "
                         "large pictures without doubled subjects (the web UI's \"Hires. fix\")."));

  // The item's data is what the request names: a built-in's name or a file's path; the text
  // is the web UI's name, as the metadata writes it.
  m_upscaler = new QComboBox(m_group);
  m_upscaler->setObjectName(QStringLiteral("hiresUpscaler"));
  fillUpscalerCombo(m_upscaler, {}, true);
  auto* browse = new QPushButton(tr("File…"), m_group);
  browse->setToolTip(tr("An ESRGAN / Real-ESRGAN upscaler network (.safetensors)"));
  auto* upscalerRow = new QHBoxLayout;
  upscalerRow->addWidget(m_upscaler, 1);
  upscalerRow->addWidget(browse);

  m_byFactor = new QRadioButton(tr("Upscale by"), m_group);
  m_toSize = new QRadioButton(tr("Resize to"), m_group);
  m_byFactor->setChecked(true);
  m_scale = new QDoubleSpinBox(m_group);
  m_scale->setRange(1.0, 8.0);
  m_scale->setSingleStep(0.05);
  m_scale->setValue(defaults.scale);
  m_width = new QSpinBox(m_group);
  m_height = new QSpinBox(m_group);
  for (QSpinBox* side : {m_width, m_height}) {
    side->setRange(0, 8192);
    side->setSingleStep(64);
    side->setSpecialValueText(tr("keep aspect"));
  }
  m_width->setValue(1024);
  m_height->setValue(1024);
  auto* factorRow = new QHBoxLayout;
  factorRow->addWidget(m_byFactor);
  factorRow->addWidget(m_scale, 1);
  auto* sizeRow = new QHBoxLayout;
  sizeRow->addWidget(m_toSize);
  sizeRow->addWidget(m_width, 1);
  sizeRow->addWidget(m_height, 1);

  m_steps = new QSpinBox(m_group);
  m_steps->setRange(0, 1000);
  m_steps->setSpecialValueText(tr("as the first pass"));
  m_steps->setValue(defaults.steps);
  m_strength = new QDoubleSpinBox(m_group);
  m_strength->setRange(0.0, 1.0);
  m_strength->setSingleStep(0.05);
  m_strength->setValue(defaults.denoising_strength);
  m_strength->setToolTip(tr("How much the second pass repaints: of its steps, this fraction runs"));

  // The second pass's own sampler and prompts, as the web UI's "Hires sampler" and
  // "Hires prompt": empty (or "Use same sampler") = the first pass's.
  m_sampler = new QComboBox(m_group);
  m_sampler->setObjectName(QStringLiteral("hiresSampler"));
  m_sampler->addItem(tr("Use same sampler"), QString());
  addSamplerItems(m_sampler);
  m_prompt = new QPlainTextEdit(m_group);
  m_negativePrompt = new QPlainTextEdit(m_group);
  for (QPlainTextEdit* edit : {m_prompt, m_negativePrompt}) {
    edit->setTabChangesFocus(true);
    edit->setMaximumHeight(edit->fontMetrics().lineSpacing() * 3 + 12);
  }
  m_prompt->setPlaceholderText(tr("The same prompt as the first pass"));
  m_negativePrompt->setPlaceholderText(tr("The same negative prompt as the first pass"));

  auto* form = new QFormLayout(m_group);
  form->addRow(tr("Upscaler"), upscalerRow);
  form->addRow(factorRow);
  form->addRow(sizeRow);
  form->addRow(tr("Hires steps"), m_steps);
  form->addRow(tr("Denoising strength"), m_strength);
  form->addRow(tr("Hires sampler"), m_sampler);
  form->addRow(tr("Hires prompt"), m_prompt);
  form->addRow(tr("Hires negative"), m_negativePrompt);

  // The folder is also the Upscale dialog's, so it stays usable with the hires fix off.
  m_folder = new UpscalerFolder(this);
  m_folderEdit = new QLineEdit(this);
  m_folderEdit->setObjectName(QStringLiteral("upscalerFolder"));
  m_folderEdit->setPlaceholderText(tr("Folder of upscaler networks (.safetensors)"));
  auto* chooseFolderButton = new QPushButton(tr("…"), this);
  chooseFolderButton->setToolTip(tr("Choose the upscaler folder"));
  auto* folderRow = new QHBoxLayout;
  folderRow->addWidget(new QLabel(tr("Upscalers"), this));
  folderRow->addWidget(m_folderEdit, 1);
  folderRow->addWidget(chooseFolderButton);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(m_group);
  layout->addLayout(folderRow);

  connect(browse, &QPushButton::clicked, this, &HiresPanel::chooseUpscalerFile);
  connect(chooseFolderButton, &QPushButton::clicked, this, &HiresPanel::chooseFolder);
  connect(m_folderEdit, &QLineEdit::editingFinished, this, [this] {
    if (m_folderEdit->text() != m_folder->folder()) setFolder(m_folderEdit->text());
  });
  connect(m_folder, &UpscalerFolder::changed, this,
          [this] { fillUpscalerCombo(m_upscaler, m_folder->entries(), true); });
  connect(m_sampler, qOverload<int>(&QComboBox::currentIndexChanged), this, &HiresPanel::changed);
  connect(m_prompt, &QPlainTextEdit::textChanged, this, &HiresPanel::changed);
  connect(m_negativePrompt, &QPlainTextEdit::textChanged, this, &HiresPanel::changed);
  connect(m_group, &QGroupBox::toggled, this, &HiresPanel::changed);
  connect(m_upscaler, qOverload<int>(&QComboBox::currentIndexChanged), this, &HiresPanel::changed);
  connect(m_byFactor, &QRadioButton::toggled, this, [this] {
    updateEnabled();
    Q_EMIT changed();
  });
  for (QSpinBox* spin : {m_width, m_height, m_steps})
    connect(spin, qOverload<int>(&QSpinBox::valueChanged), this, &HiresPanel::changed);
  for (QDoubleSpinBox* spin : {m_scale, m_strength})
    connect(spin, qOverload<double>(&QDoubleSpinBox::valueChanged), this, &HiresPanel::changed);
  updateEnabled();
}

api::GenerationRequest HiresPanel::request(const api::GenerationRequest& base) const {
  api::GenerationRequest r = base;
  api::SecondPass& pass = r.second_pass;
  pass.enabled = m_group->isChecked();
  pass.upscaler = m_upscaler->currentData().toString().toStdString();
  pass.scale = m_scale->value();
  pass.width = m_toSize->isChecked() ? m_width->value() : 0;
  pass.height = m_toSize->isChecked() ? m_height->value() : 0;
  pass.steps = m_steps->value();
  pass.denoising_strength = m_strength->value();
  pass.sampler = m_sampler->currentData().toString().toStdString();
  pass.prompt = m_prompt->toPlainText().toStdString();
  pass.negative_prompt = m_negativePrompt->toPlainText().toStdString();
  return r;
}

void HiresPanel::setRequest(const api::GenerationRequest& request) {
  const api::SecondPass& pass = request.second_pass;
  m_group->setChecked(pass.enabled);
  // Other programs name a network by its file name only: the folder's file of that name.
  QString upscaler = QString::fromStdString(pass.upscaler);
  if (!api::find_built_in_upscaler(pass.upscaler) && !QFileInfo::exists(upscaler)) {
    for (const UpscalerEntry& entry : m_folder->entries())
      if (entry.name == upscaler) upscaler = entry.path;
  }
  selectUpscaler(m_upscaler, upscaler);
  const bool sized = pass.width > 0 || pass.height > 0;
  (sized ? m_toSize : m_byFactor)->setChecked(true);
  if (sized) {
    m_width->setValue(pass.width);
    m_height->setValue(pass.height);
  } else {
    m_scale->setValue(pass.scale);
  }
  m_steps->setValue(pass.steps);
  m_strength->setValue(pass.denoising_strength);
  const int sampler = m_sampler->findData(QString::fromStdString(pass.sampler));
  m_sampler->setCurrentIndex(std::max(sampler, 0));  // one this engine lacks: the same as the first pass
  m_prompt->setPlainText(QString::fromStdString(pass.prompt));
  m_negativePrompt->setPlainText(QString::fromStdString(pass.negative_prompt));
  updateEnabled();
}

QString HiresPanel::folder() const { return m_folder->folder(); }

void HiresPanel::setFolder(const QString& folder) {
  m_folderEdit->setText(folder);
  if (folder == m_folder->folder()) return;
  m_folder->setFolder(folder);
  Q_EMIT changed();
}

void HiresPanel::chooseFolder() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Upscaler folder"), folder());
  if (!dir.isEmpty()) setFolder(dir);
}

void HiresPanel::chooseUpscalerFile() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Upscaler network"), QString(),
                                                    tr("Upscaler networks (*.safetensors)"));
  if (!path.isEmpty()) selectUpscaler(m_upscaler, path);
}

void HiresPanel::updateEnabled() {
  m_scale->setEnabled(m_byFactor->isChecked());
  m_width->setEnabled(m_toSize->isChecked());
  m_height->setEnabled(m_toSize->isChecked());
}

}  // namespace latent::ui
