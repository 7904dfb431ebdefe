#include "hires_options.h"

#include <QFileInfo>
#include <QRegularExpression>

#include "core/api/upscaler_names.h"
#include "core/util/error.h"
#include "option_values.h"

using latent::Error;

OptionList HiresOptions::options() const {
  const latent::api::SecondPass defaults;
  return {
      {"hires-scale", "Hires fix: draw at the size, upscale by F and repaint (the web UI's "
                      "\"Hires. fix\"; default 2 when another --hires-* option turns it on).", "F"},
      {"hires-size", "Hires fix: upscale to W x H instead of by a factor (0 for one side keeps the "
                     "aspect).", "WxH"},
      {"hires-upscaler", "Hires fix: how the first pass is upscaled: " +
                             QString::fromStdString(latent::api::built_in_upscaler_list()) +
                             " (default latent), or an ESRGAN / Real-ESRGAN .safetensors file.",
       "NAME|PATH"},
      {"hires-steps", "Hires fix: steps of the second pass's schedule, of which strength x N run "
                      "(default 0: as many as --steps).", "N", "0"},
      {"hires-strength", "Hires fix: how much the second pass repaints, 0 to 1 (default " +
                             QString::number(defaults.denoising_strength) + ").",
       "S", QString::number(defaults.denoising_strength)},
      {"hires-sampler", "Hires fix: the second pass's sampler (default: --sampler).", "NAME"},
      {"hires-prompt", "Hires fix: the second pass's prompt (default: --prompt).", "TEXT"},
      {"hires-negative", "Hires fix: the second pass's negative prompt (default: --negative).", "TEXT"},
  };
}

void HiresOptions::read(const QCommandLineParser& parser, latent::api::SecondPass& pass) const {
  pass.enabled = parser.isSet("hires-scale") || parser.isSet("hires-size") || parser.isSet("hires-upscaler");
  if (!pass.enabled) {
    for (const char* option : {"hires-steps", "hires-strength", "hires-sampler", "hires-prompt", "hires-negative"})
      if (parser.isSet(option))
        throw Error(std::string("--") + option + " needs the hires fix: --hires-scale, --hires-size or --hires-upscaler");
    return;
  }
  if (parser.isSet("hires-scale") && parser.isSet("hires-size"))
    throw Error("--hires-scale and --hires-size both say where to upscale to: give one");
  if (parser.isSet("hires-scale")) pass.scale = doubleValue(parser, "hires-scale");
  if (parser.isSet("hires-size")) {
    static const QRegularExpression form(R"(^\s*(\d+)\s*[xX]\s*(\d+)\s*$)");
    const auto match = form.match(parser.value("hires-size"));
    if (!match.hasMatch())
      throw Error("--hires-size needs WIDTHxHEIGHT, e.g. 1024x768, not '" + parser.value("hires-size").toStdString() + "'");
    pass.width = match.captured(1).toInt();
    pass.height = match.captured(2).toInt();
    if (pass.width == 0 && pass.height == 0) throw Error("--hires-size 0x0 gives no size: name at least one side");
  }
  if (parser.isSet("hires-upscaler")) {
    const QString upscaler = parser.value("hires-upscaler");
    const auto* built_in = latent::api::find_built_in_upscaler(upscaler.toStdString());
    if (!built_in && !QFileInfo::exists(upscaler))
      throw Error("--hires-upscaler '" + upscaler.toStdString() + "' is neither one of " +
                  latent::api::built_in_upscaler_list() + " nor an upscaler file");
    pass.upscaler = built_in ? built_in->name : upscaler.toStdString();
  }
  pass.steps = intValue(parser, "hires-steps");
  pass.denoising_strength = doubleValue(parser, "hires-strength");
  pass.sampler = parser.value("hires-sampler").toStdString();
  pass.prompt = parser.value("hires-prompt").toStdString();
  pass.negative_prompt = parser.value("hires-negative").toStdString();
}
