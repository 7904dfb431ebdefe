#pragma once

// The web UI's (AUTOMATIC1111) HTTP API answers: generated pictures as base64 PNG with
// their `parameters` text inside, the `info` JSON string with seeds and settings as the
// web UI returns them, the PNG-info reading, the sampler and schedule lists and error
// bodies. Free of LibTorch.

#include <QByteArray>
#include <QJsonArray>
#include <QJsonObject>

#include <string>
#include <vector>

#include "core/api/generation_result.h"
#include "core/api/image.h"
#include "core/api/load_options.h"

namespace latent::api_server {

// The runs of one request (n_iter of them, fewer when it was interrupted).
struct GenerationAnswer {
  std::vector<api::GenerationResult> runs;
  api::LoadOptions model;     // what ran them, as the PNG's settings record it
  QJsonObject parameters;     // the request, echoed
  bool send_images = true;
  std::string job_timestamp;  // "YYYYMMDDhhmmss", when the job started
  bool interrupted = false;
};

// {"images": [...], "parameters": {...}, "info": "<JSON text>"} for txt2img and img2img.
// Each PNG carries the `parameters` text and our settings chunk exactly as
// `latentstudio-cli generate` writes them, so both give the same file for the same run.
QJsonObject generation_response(const GenerationAnswer& answer);

// A picture as base64 PNG without text chunks (progress previews).
QByteArray preview_base64(const api::Image& image);

// /sdapi/v1/png-info for the bytes of a PNG: {"info": parameters text, "items": other text
// chunks, "parameters": the text's fields by name, "Size-1"/"Size-2" split as the web UI does}.
QJsonObject png_info_response(const std::vector<unsigned char>& png);

// /sdapi/v1/samplers: [{"name": "DPM++ 2M", "aliases": ["dpmpp_2m", ...], "options": {...}}],
// one entry per web UI name, from the engine's sampler names.
QJsonArray samplers_response(const std::vector<std::string>& engine_samplers);
// /sdapi/v1/schedulers: the schedules the samplers accept ("Automatic", "Karras").
QJsonArray schedulers_response();

// The body of every error answer, shaped as the web UI's: {"error": "<kind>", "detail":
// "<message>", "body": "", "errors": ""}, plus "field" naming the request field at fault.
QByteArray error_body(const std::string& kind, const std::string& detail, const std::string& field = "");

}  // namespace latent::api_server
