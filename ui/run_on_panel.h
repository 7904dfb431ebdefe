#pragma once

// "Run on": this computer, or a Latent Studio server (`latentstudio-cli serve`) by its
// address, with a user and password when it asks for them. Connecting reads the server's
// models (/sdapi/v1/sd-models) and LoRAs (/sdapi/v1/loras), asynchronously; the models are
// offered here, the LoRAs go to the LoRA panel. Generations then run on the server and
// their pictures land in the local gallery.

#include <QPointer>
#include <QStringList>
#include <QWidget>

#include "ui/generation_job.h"

class QComboBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QNetworkAccessManager;
class QNetworkReply;
class QPushButton;

namespace latent::ui {

class RunOnPanel : public QWidget {
  Q_OBJECT

 public:
  explicit RunOnPanel(QWidget* parent = nullptr);

  bool onServer() const;
  // The server as the fields show it, also while this computer is chosen (it is remembered).
  RemoteServer server() const;
  void setServer(const RemoteServer& server, bool onServer);

  // After a successful connect: what the server offers.
  QStringList serverModels() const { return m_models; }
  QStringList serverLoras() const { return m_loras; }
  QString statusText() const;

  QComboBox* targetCombo() const { return m_target; }
  QLineEdit* urlEdit() const { return m_url; }
  QLineEdit* userEdit() const { return m_user; }
  QLineEdit* passwordEdit() const { return m_password; }
  QComboBox* modelCombo() const { return m_model; }
  QPushButton* connectButton() const { return m_connect; }

 public Q_SLOTS:
  // Reads the server's models and LoRAs; connected() or connectFailed() follows.
  void connectToServer();

 Q_SIGNALS:
  void changed();
  void runOnChanged(bool onServer);
  void connected(const QStringList& models, const QStringList& loras);
  void connectFailed(const QString& message);

 private:
  void fetched();
  void updateVisibility();
  void setStatus(const QString& text);

  QComboBox* m_target;
  QWidget* m_serverFields;
  QLineEdit* m_url;
  QLineEdit* m_user;
  QLineEdit* m_password;
  QComboBox* m_model;
  QPushButton* m_connect;
  QLabel* m_status;
  QNetworkAccessManager* m_network;
  QPointer<QNetworkReply> m_modelsReply;
  QPointer<QNetworkReply> m_lorasReply;
  QStringList m_models;
  QStringList m_loras;
  QString m_wantedModel;  // the remembered model, selected once the list arrives
};

}  // namespace latent::ui
