#include "core/text/lora_prompt.h"

#include <QDir>
#include <QDirIterator>
#include <QFileInfo>
#include <QRegularExpression>

#include <algorithm>

#include "core/util/error.h"

namespace latent::text {
namespace {

double parse_multiplier(const QString& text, const std::string& tag) {
  bool ok = false;
  const double value = text.trimmed().toDouble(&ok);
  if (!ok) throw Error("the LoRA tag " + tag + " needs a number as its multiplier, not '" + text.toStdString() + "'");
  return value;
}

}  // namespace

LoraPrompt extract_lora_tags(const std::string& prompt) {
  // The web UI's extra-network pattern: <kind:arguments>.
  static const QRegularExpression pattern(QStringLiteral("<(\\w+):([^>]+)>"));
  const QString text = QString::fromStdString(prompt);
  LoraPrompt out;
  QString kept;
  qsizetype last = 0;
  for (auto it = pattern.globalMatch(text); it.hasNext();) {
    const auto match = it.next();
    const QString kind = match.captured(1);
    if (kind != QLatin1String("lora") && kind != QLatin1String("lyco")) continue;
    kept += text.mid(last, match.capturedStart() - last);
    last = match.capturedEnd();
    const std::string tag = match.captured(0).toStdString();
    const QStringList args = match.captured(2).split(':');
    PromptLora lora;
    lora.tag = tag;
    lora.name = args.value(0).trimmed().toStdString();
    if (lora.name.empty()) throw Error("the LoRA tag " + tag + " has no name");
    if (args.size() > 1) lora.multiplier = parse_multiplier(args[1], tag);
    if (args.size() > 2 && parse_multiplier(args[2], tag) != lora.multiplier)
      throw Error("the LoRA tag " + tag +
                  " gives the UNet its own multiplier; Latent Studio uses one multiplier for both");
    out.loras.push_back(std::move(lora));
  }
  kept += text.mid(last);
  out.text = kept.toStdString();
  return out;
}

std::vector<LoraFileEntry> list_lora_files(const std::string& folder) {
  const QDir dir(QString::fromStdString(folder));
  if (folder.empty() || !dir.exists()) throw Error("the LoRA folder '" + folder + "' does not exist");
  std::vector<LoraFileEntry> out;
  QDirIterator it(dir.absolutePath(), {QStringLiteral("*.safetensors")}, QDir::Files | QDir::Readable,
                  QDirIterator::Subdirectories | QDirIterator::FollowSymlinks);
  while (it.hasNext()) {
    const QFileInfo info(it.next());
    out.push_back({info.completeBaseName().toStdString(), info.absoluteFilePath().toStdString()});
  }
  std::sort(out.begin(), out.end(), [](const LoraFileEntry& a, const LoraFileEntry& b) {
    const int order = QString::fromStdString(a.name).compare(QString::fromStdString(b.name), Qt::CaseInsensitive);
    return order != 0 ? order < 0 : a.path < b.path;
  });
  return out;
}

std::string find_lora_file(const std::string& folder, const std::string& name) {
  const QDir dir(QString::fromStdString(folder));
  const QFileInfo direct(dir.filePath(QString::fromStdString(name) + ".safetensors"));
  if (direct.isFile()) return direct.absoluteFilePath().toStdString();
  const auto files = list_lora_files(folder);
  for (const auto& file : files)
    if (file.name == name) return file.path;
  const QString wanted = QString::fromStdString(name);
  for (const auto& file : files)
    if (QString::fromStdString(file.name).compare(wanted, Qt::CaseInsensitive) == 0) return file.path;
  throw Error("no LoRA named '" + name + "' in the LoRA folder '" + folder + "' (looked for " + name +
              ".safetensors there and in its subfolders)");
}

}  // namespace latent::text
