#include "ui/run_on_panel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPushButton>
#include <QVBoxLayout>

#include <exception>

#include "core/api_server/webui_client.h"
#include "ui/remote_server.h"

namespace latent::ui {
namespace {

QStringList toStringList(const std::vector<std::string>& names) {
  QStringList out;
  for (const std::string& name : names) out << QString::fromStdString(name);
  return out;
}

// The reply's trouble for people: no answer, or the server's own words; empty when it is fine.
QString replyProblem(QNetworkReply* reply, const QByteArray& body) {
  const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
  if (status == 0) return reply->errorString();
  if (status != 200) return QString::fromStdString(api_server::error_detail(body, status));
  return {};
}

}  // namespace

RunOnPanel::RunOnPanel(QWidget* parent)
    : QWidget(parent),
      m_target(new QComboBox(this)),
      m_serverFields(new QWidget(this)),
      m_url(new QLineEdit(m_serverFields)),
      m_user(new QLineEdit(m_serverFields)),
      m_password(new QLineEdit(m_serverFields)),
      m_model(new QComboBox(m_serverFields)),
      m_connect(new QPushButton(tr("Connect"), m_serverFields)),
      m_status(new QLabel(m_serverFields)),
      m_network(new QNetworkAccessManager(this)) {
  setObjectName(QStringLiteral("runOnPanel"));
  m_target->setObjectName(QStringLiteral("runOn"));
  m_target->addItem(tr("This computer"));
  m_target->addItem(tr("A Latent Studio server"));
  m_target->setToolTip(tr("Where pictures are made: here, or on a computer running `latentstudio-cli serve`"));
  m_url->setObjectName(QStringLiteral("serverUrl"));
  m_url->setPlaceholderText(QStringLiteral("http://127.0.0.1:7860"));
  m_user->setObjectName(QStringLiteral("serverUser"));
  m_user->setPlaceholderText(tr("user (when the server asks for one)"));
  m_password->setObjectName(QStringLiteral("serverPassword"));
  m_password->setEchoMode(QLineEdit::Password);
  m_password->setToolTip(tr("Kept scrambled in the settings, not encrypted"));
  m_model->setObjectName(QStringLiteral("serverModel"));
  m_model->addItem(tr("The server's current model"), QString());
  m_status->setObjectName(QStringLiteral("serverStatus"));
  m_status->setWordWrap(true);
  m_status->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

  auto* credentials = new QHBoxLayout;
  credentials->addWidget(m_user, 1);
  credentials->addWidget(m_password, 1);
  auto* addressRow = new QHBoxLayout;
  addressRow->addWidget(m_url, 1);
  addressRow->addWidget(m_connect);
  auto* form = new QFormLayout(m_serverFields);
  form->setContentsMargins(0, 0, 0, 0);
  form->addRow(tr("Server"), addressRow);
  form->addRow(tr("Sign in"), credentials);
  form->addRow(tr("Model"), m_model);
  form->addRow(m_status);
  auto* targetRow = new QHBoxLayout;
  targetRow->addWidget(new QLabel(tr("Run on"), this));
  targetRow->addWidget(m_target, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addLayout(targetRow);
  layout->addWidget(m_serverFields);

  connect(m_target, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    updateVisibility();
    Q_EMIT runOnChanged(onServer());
    Q_EMIT changed();
  });
  for (QLineEdit* edit : {m_url, m_user, m_password})
    connect(edit, &QLineEdit::textEdited, this, &RunOnPanel::changed);
  connect(m_url, &QLineEdit::returnPressed, this, &RunOnPanel::connectToServer);
  connect(m_connect, &QPushButton::clicked, this, &RunOnPanel::connectToServer);
  connect(m_model, qOverload<int>(&QComboBox::currentIndexChanged), this, &RunOnPanel::changed);
  updateVisibility();
}

bool RunOnPanel::onServer() const { return m_target->currentIndex() == 1; }

RemoteServer RunOnPanel::server() const {
  RemoteServer s;
  s.url = m_url->text().trimmed();
  s.user = m_user->text();
  s.password = m_password->text();
  // Before the list arrives, the remembered model stands.
  s.model = m_models.isEmpty() ? m_wantedModel : m_model->currentData().toString();
  return s;
}

void RunOnPanel::setServer(const RemoteServer& server, bool onServer) {
  m_url->setText(server.url);
  m_user->setText(server.user);
  m_password->setText(server.password);
  m_wantedModel = server.model;
  const int index = m_model->findData(server.model);
  if (index >= 0) m_model->setCurrentIndex(index);
  m_target->setCurrentIndex(onServer ? 1 : 0);
  updateVisibility();
}

QString RunOnPanel::statusText() const { return m_status->text(); }

void RunOnPanel::setStatus(const QString& text) { m_status->setText(text); }

void RunOnPanel::updateVisibility() { m_serverFields->setVisible(onServer()); }

void RunOnPanel::connectToServer() {
  const RemoteServer s = server();
  const QString problem = serverProblem(s);
  if (!problem.isEmpty()) {
    setStatus(problem);
    return Q_EMIT connectFailed(problem);
  }
  const QList<QNetworkReply*> earlier = {m_modelsReply.data(), m_lorasReply.data()};
  m_modelsReply = nullptr;
  m_lorasReply = nullptr;
  for (QNetworkReply* old : earlier)
    if (old) old->abort();
  const auto get = [this, &s](const QString& path) {
    QNetworkRequest request(serverUrl(s, path));
    request.setTransferTimeout(15000);
    setCredentials(request, s);
    QNetworkReply* reply = m_network->get(request);
    connect(reply, &QNetworkReply::finished, this, &RunOnPanel::fetched);
    return reply;
  };
  setStatus(tr("Connecting to %1…").arg(s.url));
  m_modelsReply = get(QStringLiteral("/sdapi/v1/sd-models"));
  m_lorasReply = get(QStringLiteral("/sdapi/v1/loras"));
}

void RunOnPanel::fetched() {
  auto* reply = qobject_cast<QNetworkReply*>(sender());
  if (reply != m_modelsReply && reply != m_lorasReply) {  // an earlier attempt, aborted
    if (reply) reply->deleteLater();
    return;
  }
  if (!m_modelsReply->isFinished() || !m_lorasReply->isFinished()) return;  // wait for both
  m_modelsReply->deleteLater();
  m_lorasReply->deleteLater();
  const QByteArray modelsBody = m_modelsReply->readAll();
  const QByteArray lorasBody = m_lorasReply->readAll();
  QString problem = replyProblem(m_modelsReply, modelsBody);
  if (problem.isEmpty()) problem = replyProblem(m_lorasReply, lorasBody);
  QStringList models, loras;
  if (problem.isEmpty()) {
    try {
      models = toStringList(api_server::parse_model_titles(modelsBody));
      loras = toStringList(api_server::parse_lora_names(lorasBody));
    } catch (const std::exception& error) {
      problem = tr("%1 answers, but not as a Latent Studio server: %2").arg(server().url, QString::fromUtf8(error.what()));
    }
  }
  m_modelsReply = nullptr;
  m_lorasReply = nullptr;
  if (!problem.isEmpty()) {
    const QString message = tr("Cannot connect to %1: %2").arg(server().url, problem);
    setStatus(message);
    return Q_EMIT connectFailed(message);
  }
  m_models = models;
  m_loras = loras;
  const QString wanted = server().model;
  {
    const QSignalBlocker quiet(m_model);
    m_model->clear();
    m_model->addItem(tr("The server's current model"), QString());
    for (const QString& model : models) m_model->addItem(model, model);
    m_model->setCurrentIndex(std::max(0, m_model->findData(wanted)));
  }
  setStatus(tr("Connected: %1, %2").arg(tr("%n model(s)", nullptr, int(models.size())), tr("%n LoRA(s)", nullptr, int(loras.size()))));
  Q_EMIT connected(models, loras);
}

}  // namespace latent::ui
