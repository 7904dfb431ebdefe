#pragma once

// What the readers of other programs' metadata share: putting a program's values into the
// web UI's fields of an ImageMetadata (file_metadata.h), and setting aside what does not fit.

#include <QJsonObject>
#include <QJsonValue>

#include <initializer_list>
#include <optional>
#include <string>

#include "core/image/file_metadata.h"
#include "core/image/foreign_metadata/sampler_names.h"

namespace latent::image::foreign {

// Sets the web UI field `key` (replacing an earlier value); an empty value sets nothing.
void set_field(ImageMetadata& meta, const std::string& key, const std::string& value);
// "7", "7.5", "0.35": as the web UI writes numbers.
std::string number_text(double value);
// A JSON value as text: strings as they are, numbers as number_text (integers exactly),
// true/false, arrays and objects as compact JSON; "" for null and undefined.
std::string json_text(const QJsonValue& value);
// A recorded file name without its folders (either slash; Windows programs write "\")
// and its extension: "sd15\v1-5-pruned.safetensors" -> "v1-5-pruned".
std::string model_stem(const std::string& path);

// The sampler fields ("Sampler", "Schedule type", "Timestep Spacing") for `sampler`, or
// the program's own names set aside under `sampler_key` and `schedule_key`.
void set_sampler(ImageMetadata& meta, const ForeignSampler& sampler, const std::string& sampler_key,
                 const std::string& their_sampler, const std::string& schedule_key);
// Size as "WxH" when both are positive.
void set_size(ImageMetadata& meta, const QJsonValue& width, const QJsonValue& height);
// A LoRA by the file name a program recorded (folders dropped; ".safetensors" added to a
// bare name so that the LoRA folder's files match it by name); none for an empty name.
std::optional<api::LoraSpec> lora_spec(const std::string& recorded_name, double multiplier);
void add_lora(ImageMetadata& meta, const std::string& recorded_name, double multiplier);
void add_unmapped(ImageMetadata& meta, const std::string& name, const QJsonValue& value);
// Sets aside every member of `object` not named in `handled` whose value says something
// (not null, false, an empty string, list or object).
// Puts the fields in the order the web UI writes them (Steps, Sampler, ..., Seed, Size,
// Model, ...), as people read them; the readers of JSON call it last.
void order_fields(ImageMetadata& meta);
void set_aside_others(ImageMetadata& meta, const QJsonObject& object, std::initializer_list<const char*> handled);

}  // namespace latent::image::foreign
