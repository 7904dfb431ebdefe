#pragma once

// The ControlNets the engine keeps loaded between generations: each request's nets are
// loaded unless they already are (same path, file unchanged on disk), and the nets a
// request no longer names are released, so that only the current ones hold memory.

#include <QDateTime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api/generation_result.h"
#include "core/pipeline/controlnet_loader.h"

namespace latent::pipeline {

struct ModelBundle;

class ControlNetCache {
 public:
  // The nets of the request's enabled control units, in order, for `model` (its family,
  // UNet, device and precision). Throws latent::Error naming the file that cannot be used.
  std::vector<models::ControlNetModel> nets_for(const api::GenerationRequest& request,
                                                const ModelBundle& model);
  // Names and hashes of the request's enabled units' nets (loaded by nets_for), for metadata.
  std::vector<api::AppliedControlNet> applied(const api::GenerationRequest& request);
  // Forgets every net (a new model: other family, device or precision).
  void clear() { entries_.clear(); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::unique_ptr<LoadedControlNet> net;
    qint64 size = 0;
    QDateTime modified;
    std::string hash;  // computed on first use
  };
  std::map<std::string, Entry> entries_;
};

}  // namespace latent::pipeline
