#include "tests/support/golden_set.h"

#include <QFile>
#include <QJsonDocument>
#include <QRegularExpression>

#include <stdexcept>

#include "tests/support/golden.h"

namespace latent::test {

GoldenSet::GoldenSet(QString folder) : folder_(std::move(folder)) {
  const QString name = folder_ + "/golden/index.json";
  QFile file(data_path(name));
  if (!file.open(QIODevice::ReadOnly)) throw std::runtime_error(name.toStdString() + " is missing");
  // Python's json writes non-finite floats bare; Qt's parser wants them quoted.
  const QString text = QString::fromUtf8(file.readAll())
                           .replace(QRegularExpression("([:\\[,]\\s*)(-?Infinity|NaN)(?=\\s*[,\\]}])"), "\\1\"\\2\"");
  QJsonParseError error{};
  const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &error);
  if (error.error != QJsonParseError::NoError)
    throw std::runtime_error(name.toStdString() + ": " + error.errorString().toStdString() + " at offset " +
                             std::to_string(error.offset));
  index_ = doc.object();
}

QJsonObject GoldenSet::case_of(const QString& id) const {
  for (const QJsonValue& value : index_.value("cases").toArray())
    if (value.toObject().value("id").toString() == id) return value.toObject();
  throw std::runtime_error("no case " + id.toStdString() + " in " + folder_.toStdString());
}

QStringList GoldenSet::ids(const QString& kind) const {
  QStringList out;
  for (const QJsonValue& value : index_.value("cases").toArray()) {
    const QJsonObject c = value.toObject();
    if (kind.isEmpty() || c.value("kind").toString() == kind) out << c.value("id").toString();
  }
  return out;
}

torch::Tensor GoldenSet::tensor(const QString& relative) const {
  return load_npy(data_path(folder_ + "/golden/" + relative));
}

QString GoldenSet::data_file(const QString& relative_to_testdata) const { return data_path(relative_to_testdata); }

}  // namespace latent::test
