#include "ui/remote_server.h"

#include <QNetworkRequest>

namespace latent::ui {

QString serverProblem(const RemoteServer& server) {
  const QUrl url(server.url.trimmed(), QUrl::StrictMode);
  const QString scheme = url.scheme().toLower();
  if (!url.isValid() || (scheme != QLatin1String("http") && scheme != QLatin1String("https")) || url.host().isEmpty())
    return QObject::tr("'%1' is not a server address: write it as http://HOST:PORT (the address `latentstudio-cli serve` prints)")
        .arg(server.url);
  return {};
}

QUrl serverUrl(const RemoteServer& server, const QString& path) {
  QUrl url(server.url.trimmed());
  QString base = url.path();
  while (base.endsWith(QLatin1Char('/'))) base.chop(1);
  url.setPath(base + path);
  return url;
}

void setCredentials(QNetworkRequest& request, const RemoteServer& server) {
  if (server.user.isEmpty()) return;
  const QByteArray pair = (server.user + QLatin1Char(':') + server.password).toUtf8();
  request.setRawHeader("Authorization", "Basic " + pair.toBase64());
}

}  // namespace latent::ui
