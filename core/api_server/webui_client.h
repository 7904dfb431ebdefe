#pragma once

// The client's side of the web UI's HTTP API, for a desktop that runs its generations on a
// Latent Studio server: a GenerationRequest written as the txt2img / img2img body that
// parse_webui_request (webui_request.h) reads back into the same request (tests/core/
// tst_webui_client.cpp holds the two to each other, field by field), and the server's
// answers read back: pictures, progress, errors and the model and LoRA lists. Free of
// LibTorch and of I/O; the answers come from the network, so every reader takes any bytes
// (fuzz/fuzz_webui_client.cpp) and throws latent::Error for what it cannot use.

#include <QByteArray>
#include <QJsonObject>

#include <string>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api_server/webui_request.h"

namespace latent::api_server {

struct ClientRequest {
  Endpoint endpoint = Endpoint::txt2img;
  QJsonObject body;
};

// The body for `request` on the server's model titled `model_title` (empty = the one it has
// loaded). LoRAs become <lora:NAME:WEIGHT> tags of the prompt, resolved in the server's LoRA
// folder by their file names. A request with a starting picture goes to img2img, with the
// picture and mask as the bytes of image files (`init_image`, `mask`; any format the server
// reads). Throws latent::Error naming the setting the API cannot carry (ControlNet units, a
// refiner, another VAE, outpainting, an upscaler file of this computer, ...).
ClientRequest webui_client_request(const api::GenerationRequest& request, const std::string& model_title,
                                   const std::vector<unsigned char>& init_image = {},
                                   const std::vector<unsigned char>& mask = {});

// A txt2img / img2img answer.
struct GenerationReply {
  std::vector<std::vector<unsigned char>> pngs;  // base64-decoded, each with its metadata inside
  std::vector<uint64_t> seeds;                   // info.all_seeds, one per picture
  std::string model_name;                        // info.sd_model_name
  std::vector<std::string> warnings;             // info.warnings (ours)
  bool interrupted = false;                      // info.interrupted (ours)
};
GenerationReply parse_generation_reply(const QByteArray& body);

// A /sdapi/v1/progress answer.
struct ProgressReply {
  double progress = 0;      // 0 to 1 over the whole job
  double eta_seconds = 0;   // eta_relative
  int step = 0;             // state.sampling_step
  int steps = 0;            // state.sampling_steps
  bool busy = false;        // state.job is not empty
  std::vector<unsigned char> preview;  // current_image, decoded; empty when none
};
ProgressReply parse_progress_reply(const QByteArray& body);

// The server's words for an error answer: its "detail" (the field at fault is in it), else
// the body's first line; `status` when the body says nothing.
std::string error_detail(const QByteArray& body, int status);

// The names of /sdapi/v1/loras and the titles of /sdapi/v1/sd-models, in the server's order.
std::vector<std::string> parse_lora_names(const QByteArray& body);
std::vector<std::string> parse_model_titles(const QByteArray& body);

}  // namespace latent::api_server
