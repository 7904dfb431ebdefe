#include "core/pipeline/controlnet_cache.h"

#include <QFileInfo>
#include <set>

#include "core/pipeline/control_request.h"
#include "core/pipeline/model_bundle.h"
#include "core/util/file_hash.h"

namespace latent::pipeline {
namespace {

// What tells a rewritten weights file from the loaded one.
std::pair<qint64, QDateTime> stamp_of(const std::string& file) {
  const QFileInfo info(QString::fromStdString(file));
  return {info.size(), info.lastModified()};
}

}  // namespace

std::vector<models::ControlNetModel> ControlNetCache::nets_for(
    const api::GenerationRequest& request, const ModelBundle& model) {
  const auto units = enabled_control_units(request);
  std::set<std::string> wanted;
  for (const auto& unit : units) wanted.insert(unit.model_path);
  for (auto it = entries_.begin(); it != entries_.end();)  // free the old weights first
    it = wanted.count(it->first) ? std::next(it) : entries_.erase(it);

  std::vector<models::ControlNetModel> nets;
  for (const auto& unit : units) {
    Entry& entry = entries_[unit.model_path];
    if (entry.net &&
        stamp_of(entry.net->weight_files.front()) != std::pair{entry.size, entry.modified})
      entry = Entry{};  // changed on disk since it was loaded
    if (!entry.net) {
      entry.net = load_controlnet(unit.model_path, model.unet->config, model.family, model.device,
                                  model.dtype);
      std::tie(entry.size, entry.modified) = stamp_of(entry.net->weight_files.front());
    }
    nets.push_back(entry.net->model);
  }
  return nets;
}

std::vector<api::AppliedControlNet> ControlNetCache::applied(
    const api::GenerationRequest& request) {
  std::vector<api::AppliedControlNet> out;
  for (const auto& unit : enabled_control_units(request)) {
    auto found = entries_.find(unit.model_path);
    if (found == entries_.end() || !found->second.net) continue;
    Entry& entry = found->second;
    if (entry.hash.empty()) entry.hash = util::cached_sha256(entry.net->weight_files).substr(0, 8);
    out.push_back({entry.net->name, entry.hash});
  }
  return out;
}

}  // namespace latent::pipeline
