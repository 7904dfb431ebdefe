#pragma once

// Talking to a Latent Studio server: where its endpoints are and how to sign in (HTTP basic
// authentication, as `serve --api-auth USER:PASS` asks for). Shared by the remote worker and
// the catalog of the server's models and LoRAs.

#include <QString>
#include <QUrl>

#include "ui/generation_job.h"

class QNetworkRequest;

namespace latent::ui {

// Why `server.url` is no server address ("" when it is one): http or https, with a host.
QString serverProblem(const RemoteServer& server);
// The endpoint `path` ("/sdapi/v1/progress") of the server.
QUrl serverUrl(const RemoteServer& server, const QString& path);
// Adds the Authorization header when the server has a user.
void setCredentials(QNetworkRequest& request, const RemoteServer& server);

}  // namespace latent::ui
