#pragma once

// What an image file says about how it was made, whichever program wrote it: Latent Studio,
// the web UI (and Forge), ComfyUI, InvokeAI, Fooocus or NovelAI, in a PNG, JPEG or WebP.
// Every program's settings are translated into the web UI's vocabulary (the `parameters`
// text of parameters_text.h, which Latent Studio restores from), and what has no place in
// it is kept aside by name, so that a person can see what "use these settings" leaves out.

#include <string>
#include <utility>
#include <vector>

#include "core/api/generation_request.h"
#include "core/api/generation_result.h"
#include "core/image/foreign_metadata/embedded_texts.h"
#include "core/image/parameters_text.h"

namespace latent::image {

struct ImageMetadata {
  ImageFormat format = ImageFormat::unknown;
  // The program that wrote the settings ("Latent Studio", "AUTOMATIC1111 web UI",
  // "Stable Diffusion web UI Forge", "ComfyUI", "InvokeAI", "Fooocus", "NovelAI") and its
  // version where the file says; source is empty when the file carries no settings.
  std::string source;
  std::string version;
  std::string location;  // where the settings were found: "PNG text chunk \"prompt\"", "EXIF UserComment"

  // The settings that map onto Latent Studio's, as the web UI writes them (its field names,
  // its sampler names; seeds, sizes and clip skip counted as it counts them).
  ParsedParameters parameters;
  // SDXL's second prompts where the program kept them apart (ComfyUI's text_g).
  std::string prompt_2;
  std::string negative_prompt_2;
  // LoRAs the program names outside the prompt: the file name it recorded as `path` (folders
  // dropped), resolved in the LoRA folder like a prompt's <lora:NAME:...> tag.
  std::vector<api::LoraSpec> loras;
  // What was found but has no counterpart here: a name as the program spells it, a value.
  std::vector<std::pair<std::string, std::string>> unmapped;
  // Our own JSON (settings_json.h) when Latent Studio wrote the file: it holds every setting.
  std::string settings_json;
  // The file's own text when it was the web UI's (all its fields, as people copy it).
  std::string webui_text;

  bool found() const { return !source.empty(); }
  // The request over `base` with what maps: ParsedParameters::to_result, plus the second
  // prompts and LoRAs above (the base's LoRAs are replaced, as the file says which ran).
  api::GenerationResult to_result(const api::GenerationRequest& base) const;
  // The web UI's text: the file's own where it was in that form, else the text of what maps.
  std::string parameters_text() const;
  // The source and its version, for people: "ComfyUI", "AUTOMATIC1111 web UI v1.9.4".
  std::string source_title() const;
};

// Reads the metadata of an image's bytes (PNG, JPEG or WebP). Never throws for bad data: an
// image without settings, or damaged, gives found() == false.
ImageMetadata read_image_metadata(const std::vector<unsigned char>& bytes);
// The same for a file. Throws latent::Error naming the file when it cannot be read or is
// not a PNG, JPEG or WebP image.
ImageMetadata read_image_metadata_file(const std::string& path);

// One unmapped item, its value cut to `max_chars` (workflows and image data run to megabytes).
std::pair<std::string, std::string> unmapped_item(const std::string& name, std::string value,
                                                  std::size_t max_chars = 300);

}  // namespace latent::image
