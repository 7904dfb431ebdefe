#pragma once

// The web UI's (AUTOMATIC1111) HTTP API requests, `/sdapi/v1/txt2img` and `img2img`, read
// into a GenerationRequest: its JSON field names, its defaults and its sampler spelling.
// Free of LibTorch and of any I/O, so that it can be fuzzed (fuzz/fuzz_webui_json.cpp):
// pictures stay the bytes the client sent until the server writes and checks them.
//
// Every value that cannot be honoured throws FieldError naming the JSON field, the way a
// client wrote it ("steps", "init_images[0]", "override_settings.sd_model_checkpoint").

#include <QByteArray>
#include <QJsonObject>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/api/generation_request.h"
#include "core/util/error.h"

namespace latent::api_server {

// A request the server refuses (HTTP 400 or 422), with the field at fault; `field` is
// empty when the body as a whole is wrong (not JSON, not an object).
class FieldError : public Error {
 public:
  FieldError(std::string field, std::string message)
      : Error(field.empty() ? message : field + ": " + message), field_(std::move(field)),
        message_(std::move(message)) {}
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }  // without the field's name

 private:
  std::string field_;
  std::string message_;
};

enum class Endpoint { txt2img, img2img };

// What a client may ask for at most: the server's limits, beyond the engine's own.
struct RequestLimits {
  int max_side = 2048;        // width and height, pixels
  int max_images = 16;        // batch_size × n_iter
  int max_steps = 150;
  int64_t max_image_bytes = 32 << 20;  // one decoded base64 picture, bytes
};

struct WebuiRequest {
  api::GenerationRequest request;  // sampler, size and guidance may be left to the model:
  bool sampler_given = false;      // no sampler_name / sampler_index: the model's own, else Euler
  bool size_given = false;         // width and height 0 when neither was sent
  bool random_seed = false;        // seed -1: the server draws one
  int n_iter = 1;                  // runs one after another, the seed counted on per batch
  bool send_images = true;
  // override_settings.sd_model_checkpoint: the model this request runs on; empty = the current.
  std::string model_title;
  // img2img: the starting picture and mask as decoded from base64 (any format the engine
  // reads); the server writes them to files and checks their size before queueing.
  std::vector<unsigned char> init_image;
  std::vector<unsigned char> mask;
  bool invert_mask = false;  // inpainting_mask_invert 1: repaint where the mask is black
  // The request's fields as the response's "parameters" echoes them.
  QJsonObject parameters;
};

// Parses a request body. Unknown fields are ignored as the web UI ignores them; fields of
// features the engine lacks (face restoration, tiling, variation seeds, scripts, styles)
// are refused when they ask for something. Throws FieldError.
WebuiRequest parse_webui_request(const QByteArray& body, Endpoint endpoint,
                                 const RequestLimits& limits = {});

// The body as a JSON object, or FieldError("", ...) saying why it is not one.
QJsonObject parse_json_object(const QByteArray& body);

// Base64 (optionally a data: URL, "data:image/png;base64,...") to bytes; FieldError naming
// `field` for text that is not base64 or decodes to more than `max_bytes`.
std::vector<unsigned char> decode_base64_field(const QJsonValue& value, const std::string& field,
                                               int64_t max_bytes);

// Our sampler name for the web UI's sampler and schedule ("DPM++ 2M", "Karras"; our own
// names such as "dpmpp_2m" are accepted too). Throws FieldError naming "sampler_name" or
// "scheduler" when there is none.
std::string sampler_for(const std::string& sampler_name, const std::string& scheduler);

}  // namespace latent::api_server
