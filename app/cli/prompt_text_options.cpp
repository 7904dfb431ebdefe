#include "prompt_text_options.h"

#include <QDir>
#include <QFileInfo>

#include "core/text/prompt_styles.h"
#include "core/util/error.h"

using latent::Error;

OptionList PromptTextOptions::options() const {
  return {
      {"style", "Apply this saved style of --styles-file to the prompt and negative prompt (its {prompt} "
                "placeholder takes the prompt, else the style is appended after a comma); repeat for "
                "several, applied in order.", "NAME"},
      {"styles-file", "The styles file, in the web UI's styles.csv format (name, prompt, negative_prompt).",
       "FILE"},
      {"wildcards", "Folder of wildcard files: __name__ in the prompts becomes a line of name.txt there "
                    "(__dir/name__ reads dir/name.txt), chosen by the seed.", "DIR"},
  };
}

void PromptTextOptions::read(const QCommandLineParser& parser, latent::api::GenerationRequest& request) const {
  const QStringList names = parser.values("style");
  if (!names.isEmpty()) {
    if (!parser.isSet("styles-file")) throw Error("--style needs --styles-file: the file that holds the styles");
    const std::string path = parser.value("styles-file").toStdString();
    if (!QFileInfo(parser.value("styles-file")).isFile())
      throw Error("--styles-file: the styles file '" + path + "' does not exist");
    const auto styles = latent::text::read_styles_file(path);
    std::vector<std::string> chosen;
    for (const QString& name : names) chosen.push_back(name.toStdString());
    try {
      const auto styled = latent::text::apply_styles(request.prompt, request.negative_prompt, styles, chosen);
      request.prompt = styled.prompt;
      request.negative_prompt = styled.negative_prompt;
    } catch (const Error& error) {
      throw Error("--style: " + std::string(error.what()) + " in '" + path + "'");
    }
  }
  if (parser.isSet("wildcards")) {
    request.wildcards_dir = parser.value("wildcards").toStdString();
    if (!QDir(parser.value("wildcards")).exists())
      throw Error("--wildcards: the wildcards folder '" + request.wildcards_dir + "' does not exist");
  }
}
