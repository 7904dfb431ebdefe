// Reading how an image was made from the files other programs write (tests/data/metadata,
// made by its make_metadata_files.py to each program's documented shape): the web UI's
// `parameters` in PNG text chunks of every kind and in JPEG/WebP EXIF UserComment in both
// byte orders, ComfyUI's prompt and workflow graphs, InvokeAI 2.x to 4.x, Fooocus's two
// schemes and NovelAI V3/V4; what maps is restored, what does not is listed by name.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QJsonObject>

#include <algorithm>
#include <string>
#include <vector>

#include "core/image/file_metadata.h"
#include "core/image/foreign_metadata/exif_reader.h"
#include "core/image/metadata_json.h"
#include "core/image/parameters_text.h"
#include "core/image/png_metadata.h"
#include "core/image/settings_json.h"
#include "tests/support/error_message.h"
#include "tests/support/golden.h"

namespace img = latent::image;
using latent::api::GenerationRequest;
using latent::api::GenerationResult;

namespace {

img::ImageMetadata read(const char* name) {
  return img::read_image_metadata_file(latent::test::data_path(QStringLiteral("metadata/") + name).toStdString());
}

// The unmapped item's value, or "<absent>".
std::string unmapped(const img::ImageMetadata& meta, const std::string& name) {
  for (const auto& [key, value] : meta.unmapped)
    if (key == name) return value;
  return "<absent>";
}

QStringList unmapped_names(const img::ImageMetadata& meta) {
  QStringList names;
  for (const auto& item : meta.unmapped) names << QString::fromStdString(item.first);
  names.sort();
  return names;
}

GenerationResult restore(const img::ImageMetadata& meta) {
  const GenerationRequest defaults;
  return meta.to_result(defaults);
}

// A TIFF block with IFD0 holding `entries` raw 12-byte entries (little-endian), then `tail`.
std::vector<unsigned char> tiff_le(const std::vector<std::vector<unsigned char>>& entries,
                                   const std::vector<unsigned char>& tail = {}) {
  std::vector<unsigned char> out = {'I', 'I', 42, 0, 8, 0, 0, 0};
  out.push_back(static_cast<unsigned char>(entries.size()));
  out.push_back(0);
  for (const auto& entry : entries) out.insert(out.end(), entry.begin(), entry.end());
  out.insert(out.end(), {0, 0, 0, 0});
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

std::vector<unsigned char> entry_le(uint16_t tag, uint16_t type, uint32_t count, uint32_t value) {
  return {static_cast<unsigned char>(tag), static_cast<unsigned char>(tag >> 8), static_cast<unsigned char>(type), 0,
          static_cast<unsigned char>(count), static_cast<unsigned char>(count >> 8),
          static_cast<unsigned char>(count >> 16), static_cast<unsigned char>(count >> 24),
          static_cast<unsigned char>(value), static_cast<unsigned char>(value >> 8),
          static_cast<unsigned char>(value >> 16), static_cast<unsigned char>(value >> 24)};
}

}  // namespace

class TestForeignMetadata : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void webUiPng();
  void webUiCompressedTextChunks();
  void webUiExif_data();
  void webUiExif();
  void comfyUiPromptGraph_data();
  void comfyUiPromptGraph();
  void comfyUiThroughCombinersControlNetAndSecondPass();
  void comfyUiWorkflowOnly();
  void invokeAi();
  void invokeAiOlderVersions();
  void fooocusJson();
  void fooocusA1111SchemeInJpeg();
  void novelAi();
  void novelAiV4();
  void ourOwnFiles();
  void filesWithoutSettingsAndUnreadableFiles();
  void userCommentByteOrders();
  void exifReaderSurvivesDamage();
  void jsonForPngInfo();
  void jsonLeavesOutValuesItCannotRead();
};

void TestForeignMetadata::webUiPng() {
  const img::ImageMetadata meta = read("webui.png");
  QVERIFY(meta.found());
  QCOMPARE(meta.format, img::ImageFormat::png);
  QCOMPARE(meta.source, std::string("AUTOMATIC1111 web UI"));
  QCOMPARE(meta.version, std::string("v1.9.4"));
  QCOMPARE(meta.location, std::string("PNG text chunk \"parameters\""));
  const GenerationResult r = restore(meta);
  QCOMPARE(r.request.prompt, std::string("masterpiece, a castle on a hill, <lora:detail:0.6>"));
  QCOMPARE(r.request.negative_prompt, std::string("blurry, lowres"));
  QCOMPARE(r.request.sampling.steps, 20);
  QCOMPARE(r.request.sampling.sampler, std::string("dpmpp_2m_karras"));
  QCOMPARE(r.request.sampling.guidance_scale, 7.0);
  QCOMPARE(r.request.sampling.seed, uint64_t(123456789));
  QCOMPARE(r.request.size.width, 512);
  QCOMPARE(r.request.size.height, 768);
  QCOMPARE(r.request.sampling.clip_skip, 2);
  QCOMPARE(r.model_name, std::string("v1-5-pruned-emaonly"));
  QCOMPARE(r.model_hash, std::string("6ce0161689"));
  QVERIFY(r.request.loras.adapters.empty());  // the prompt's tag names it
  // An extension's field and the web UI's GPU noise have no counterpart; the LoRA hashes
  // describe the prompt's tag and the version names the source.
  QCOMPARE(unmapped_names(meta), QStringList({"ADetailer model", "RNG"}));
  QCOMPARE(unmapped(meta, "ADetailer model"), std::string("face_yolov8n.pt"));
  QCOMPARE(unmapped(meta, "RNG"), std::string("GPU"));
  QVERIFY(meta.parameters.field("Lora hashes"));
}

void TestForeignMetadata::webUiCompressedTextChunks() {
  // iTXt, compressed, with text beyond Latin-1; Forge's version string.
  const img::ImageMetadata forge = read("webui_forge_itxt.png");
  QCOMPARE(forge.source, std::string("Stable Diffusion web UI Forge"));
  QCOMPARE(forge.version, std::string("f2.0.1v1.10.1-previous-313-g8a042934"));
  QCOMPARE(forge.parameters.prompt, std::string("桜の木の下の猫, watercolor"));
  const GenerationResult r = restore(forge);
  QCOMPARE(r.request.sampling.sampler, std::string("euler"));  // the sampler, without its schedule:
  QCOMPARE(unmapped(forge, "Schedule type"), std::string("Exponential"));
  QCOMPARE(unmapped(forge, "RNG"), std::string("<absent>"));  // "RNG: CPU" is ours
  QCOMPARE(r.request.size.width, 768);
  // zTXt: Latin-1.
  const img::ImageMetadata latin1 = read("webui_latin1_ztxt.png");
  QCOMPARE(latin1.parameters.prompt, std::string("a café terrace at night"));
  QCOMPARE(restore(latin1).request.sampling.sampler, std::string("euler_a"));
  QCOMPARE(unmapped(latin1, "Schedule type"), std::string("<absent>"));  // "Automatic" is every sampler's own
}

void TestForeignMetadata::webUiExif_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<QString>("format");
  QTest::addColumn<QString>("prompt");
  QTest::addColumn<QString>("sampler");
  QTest::newRow("JPEG, piexif's UTF-16BE") << "webui.jpg" << "JPEG" << "a lighthouse in a storm ☂" << "ddim";
  QTest::newRow("WebP, UTF-16LE") << "webui_le.webp" << "WebP" << "a lighthouse in a storm ☂" << "ddim";
  QTest::newRow("WebP, UTF-16BE in a little-endian TIFF")
      << "webui_be_text_le_file.webp" << "WebP" << "a lighthouse in a storm ☂" << "ddim";
  QTest::newRow("JPEG, ASCII code") << "webui_ascii.jpg" << "JPEG" << "a lighthouse in a storm" << "unipc";
}

void TestForeignMetadata::webUiExif() {
  QFETCH(QString, file);
  QFETCH(QString, format);
  QFETCH(QString, prompt);
  QFETCH(QString, sampler);
  const img::ImageMetadata meta = read(qPrintable(file));
  QCOMPARE(QString(img::image_format_name(meta.format)), format);
  QCOMPARE(meta.source, std::string("AUTOMATIC1111 web UI"));
  QCOMPARE(meta.location, std::string("EXIF UserComment"));
  const GenerationResult r = restore(meta);
  QCOMPARE(QString::fromStdString(r.request.prompt), prompt);
  QCOMPARE(r.request.negative_prompt, std::string("sunny"));
  QCOMPARE(QString::fromStdString(r.request.sampling.sampler), sampler);
  QCOMPARE(r.request.sampling.steps, 28);
  QCOMPARE(r.request.sampling.seed, uint64_t(31337));
}

void TestForeignMetadata::comfyUiPromptGraph_data() {
  QTest::addColumn<QString>("file");
  QTest::addColumn<QString>("location");
  QTest::newRow("PNG") << "comfyui.png" << "PNG text chunk \"prompt\"";
  QTest::newRow("WebP") << "comfyui.webp" << "EXIF Model";
}

void TestForeignMetadata::comfyUiPromptGraph() {
  QFETCH(QString, file);
  QFETCH(QString, location);
  const img::ImageMetadata meta = read(qPrintable(file));
  QCOMPARE(meta.source, std::string("ComfyUI"));
  QCOMPARE(QString::fromStdString(meta.location), location);
  const GenerationResult r = restore(meta);
  QCOMPARE(r.request.prompt, std::string("beautiful scenery nature glass bottle landscape, purple galaxy bottle"));
  QCOMPARE(r.request.negative_prompt, std::string("text, watermark"));
  QCOMPARE(r.request.sampling.seed, uint64_t(156680208700286));
  QCOMPARE(r.request.sampling.steps, 20);
  QCOMPARE(r.request.sampling.guidance_scale, 8.0);
  QCOMPARE(r.request.sampling.sampler, std::string("dpmpp_2m_karras"));  // dpmpp_2m + karras
  QCOMPARE(r.request.size.width, 512);
  QCOMPARE(r.request.size.height, 768);
  QCOMPARE(r.request.sampling.clip_skip, 2);  // CLIPSetLastLayer -2
  QCOMPARE(r.model_name, std::string("v1-5-pruned-emaonly"));  // a Windows folder dropped
  // The LoRA chain in the order it is applied, folders dropped.
  QCOMPARE(r.request.loras.adapters.size(), std::size_t(2));
  QCOMPARE(r.request.loras.adapters[0].path, std::string("watercolor.safetensors"));
  QCOMPARE(r.request.loras.adapters[0].multiplier, 0.8);
  QCOMPARE(r.request.loras.adapters[1].path, std::string("detail_tweaker.safetensors"));
  QCOMPARE(r.request.loras.adapters[1].multiplier, 0.5);
  // One multiplier here for both networks: the second LoRA's own text encoder strength is lost.
  QCOMPARE(unmapped_names(meta), QStringList({"strength_clip of detail_tweaker"}));
  QCOMPARE(unmapped(meta, "strength_clip of detail_tweaker"), std::string("1"));
}

void TestForeignMetadata::comfyUiThroughCombinersControlNetAndSecondPass() {
  const img::ImageMetadata meta = read("comfyui_advanced.png");
  QCOMPARE(meta.source, std::string("ComfyUI"));
  const GenerationResult r = restore(meta);
  // ConditioningCombine is the web UI's AND; CLIPTextEncodeSDXL's text_l is CLIP-L's prompt,
  // text_g the second encoder's; the ControlNet node is passed through (slot 1: the negative).
  QCOMPARE(r.request.prompt, std::string("castle, watercolor AND golden hour"));
  QCOMPARE(r.request.prompt_2, std::string("a castle on a hill AND golden hour"));
  QCOMPARE(r.request.negative_prompt, std::string("blurry"));
  QCOMPARE(r.request.sampling.seed, uint64_t(42));  // from a seed node of its own
  QCOMPARE(r.request.sampling.steps, 30);  // the first pass, the one from the empty latent
  QCOMPARE(r.request.sampling.guidance_scale, 6.5);
  QCOMPARE(r.request.sampling.sampler, std::string("euler_a"));
  QCOMPARE(r.request.size.width, 1024);
  QCOMPARE(r.model_name, std::string("sd_xl_base_1.0"));
  QCOMPARE(unmapped_names(meta), QStringList({"ControlNetApplyAdvanced", "batch_size", "scheduler", "second sampler KSampler"}));
  QCOMPARE(unmapped(meta, "scheduler"), std::string("exponential"));
  QCOMPARE(unmapped(meta, "batch_size"), std::string("2"));
  QCOMPARE(unmapped(meta, "ControlNetApplyAdvanced"),
           std::string("control_net: canny.safetensors, end_percent: 1, start_percent: 0, strength: 0.7"));
  QVERIFY(QString::fromStdString(unmapped(meta, "second sampler KSampler")).contains("denoise: 0.5"));
}

void TestForeignMetadata::comfyUiWorkflowOnly() {
  const img::ImageMetadata meta = read("comfyui_workflow_only.png");
  QCOMPARE(meta.source, std::string("ComfyUI"));
  QCOMPARE(meta.location, std::string("PNG text chunk \"workflow\""));
  const GenerationResult r = restore(meta);
  QCOMPARE(r.request.prompt, std::string("a red fox in snow"));  // through a reroute
  QCOMPARE(r.request.negative_prompt, std::string("lowres"));
  QCOMPARE(r.request.sampling.seed, uint64_t(777));  // the primitive's value, not the widget's stale 1
  QCOMPARE(r.request.sampling.steps, 25);  // after the seed's "control after generate" value
  QCOMPARE(r.request.sampling.guidance_scale, 7.5);
  QCOMPARE(r.request.sampling.sampler, std::string("euler"));
  QCOMPARE(r.request.size.width, 640);
  QCOMPARE(r.request.size.height, 448);
  QCOMPARE(r.model_name, std::string("v1-5-pruned-emaonly"));
  QVERIFY(meta.unmapped.empty());
}

void TestForeignMetadata::invokeAi() {
  const img::ImageMetadata meta = read("invokeai.png");
  QCOMPARE(meta.source, std::string("InvokeAI"));
  QCOMPARE(meta.version, std::string("4.2.9"));
  const GenerationResult r = restore(meta);
  QCOMPARE(r.request.prompt, std::string("a cozy cabin in the woods, (snow)1.2"));
  QCOMPARE(r.request.negative_prompt, std::string("blurry"));
  QCOMPARE(r.request.sampling.seed, uint64_t(3005843419));
  QCOMPARE(r.request.sampling.sampler, std::string("dpmpp_2m_karras"));  // "dpmpp_2m_k"
  QCOMPARE(r.request.sampling.guidance_scale, 6.5);
  QCOMPARE(r.request.sampling.steps, 30);
  QCOMPARE(r.request.sampling.clip_skip, 2);  // InvokeAI counts the layers skipped
  QCOMPARE(r.request.size.width, 768);
  QCOMPARE(r.request.size.height, 512);
  QCOMPARE(r.model_name, std::string("Deliberate v2"));
  QCOMPARE(r.vae_name, std::string("sd-vae-ft-mse"));
  QCOMPARE(r.request.loras.adapters.size(), std::size_t(1));
  QCOMPARE(r.request.loras.adapters[0].path, std::string("add_detail.safetensors"));
  QCOMPARE(r.request.loras.adapters[0].multiplier, 0.75);
  QCOMPARE(unmapped_names(meta), QStringList({"hrf_enabled", "hrf_method", "hrf_strength"}));
}

void TestForeignMetadata::invokeAiOlderVersions() {
  const img::ImageMetadata v3 = read("invokeai_v3.png");
  QCOMPARE(v3.version, std::string("3.3.0post3"));
  const GenerationResult r3 = restore(v3);
  QCOMPARE(r3.request.sampling.sampler, std::string("heun"));  // we have no Karras Heun
  QCOMPARE(unmapped(v3, "scheduler"), std::string("karras"));
  QCOMPARE(unmapped(v3, "rand_device"), std::string("cuda"));  // noise drawn on the GPU
  QCOMPARE(r3.request.sampling.clip_skip, 1);
  QCOMPARE(r3.model_name, std::string("amixx_3Prunedfp16"));
  QCOMPARE(r3.request.loras.adapters.size(), std::size_t(1));
  QCOMPARE(r3.request.loras.adapters[0].path, std::string("film_grain.safetensors"));

  const img::ImageMetadata v2 = read("invokeai_v2.png");
  QCOMPARE(v2.source, std::string("InvokeAI"));
  QCOMPARE(v2.location, std::string("PNG text chunk \"sd-metadata\""));
  const GenerationResult r2 = restore(v2);
  QCOMPARE(r2.request.prompt, std::string("a photo of an astronaut riding a horse"));
  QCOMPARE(r2.request.negative_prompt, std::string("lowres, ugly"));  // from the square brackets
  QCOMPARE(r2.request.sampling.sampler, std::string("euler_a"));
  QCOMPARE(r2.request.sampling.steps, 50);
  QCOMPARE(r2.request.sampling.seed, uint64_t(1234567));
  QCOMPARE(r2.model_name, std::string("stable-diffusion-1.5"));
  QCOMPARE(r2.model_hash, std::string("cc6cb27103"));
  QVERIFY(v2.unmapped.empty());
}

void TestForeignMetadata::fooocusJson() {
  const img::ImageMetadata meta = read("fooocus.png");
  QCOMPARE(meta.source, std::string("Fooocus"));
  QCOMPARE(meta.version, std::string("v2.5.5"));
  const GenerationResult r = restore(meta);
  // The prompt as encoded: the typed one with its styles.
  QCOMPARE(r.request.prompt, std::string("a lighthouse at dawn, cinematic still, emotional"));
  QCOMPARE(r.request.negative_prompt, std::string("unrealistic, saturated, (worst quality, low quality)"));
  QCOMPARE(r.request.sampling.steps, 30);
  QCOMPARE(r.request.sampling.sampler, std::string("dpmpp_2m_sde"));
  QCOMPARE(r.request.sampling.guidance_scale, 4.0);
  QCOMPARE(r.request.sampling.seed, uint64_t(1234567890123));
  QCOMPARE(r.request.size.width, 1152);
  QCOMPARE(r.request.size.height, 896);
  QCOMPARE(r.request.sampling.clip_skip, 2);
  QCOMPARE(r.model_name, std::string("juggernautXL_v8Rundiffusion"));
  QCOMPARE(r.model_hash, std::string("aeb7e9e689"));
  QCOMPARE(r.vae_name, std::string());  // "Default (model)"
  QCOMPARE(r.request.loras.adapters.size(), std::size_t(1));
  QCOMPARE(r.request.loras.adapters[0].path, std::string("sd_xl_offset_example-lora_1.0.safetensors"));
  QCOMPARE(r.request.loras.adapters[0].multiplier, 0.1);
  QCOMPARE(unmapped_names(meta),
           QStringList({"adm_guidance", "performance", "prompt", "scheduler", "sharpness", "styles"}));
  QCOMPARE(unmapped(meta, "scheduler"), std::string("karras"));  // we have no Karras DPM++ 2M SDE
}

void TestForeignMetadata::fooocusA1111SchemeInJpeg() {
  const img::ImageMetadata meta = read("fooocus_a1111.jpg");
  QCOMPARE(meta.format, img::ImageFormat::jpeg);
  QCOMPARE(meta.source, std::string("Fooocus"));
  QCOMPARE(meta.location, std::string("EXIF UserComment"));  // written without a character code
  const GenerationResult r = restore(meta);
  QCOMPARE(r.request.prompt, std::string("a lighthouse at dawn, cinematic still"));
  QCOMPARE(r.request.sampling.sampler, std::string("dpmpp_2m_sde"));
  QCOMPARE(unmapped(meta, "Schedule type"), std::string("Karras"));
  QCOMPARE(r.request.sampling.seed, uint64_t(99));
  QCOMPARE(r.request.loras.adapters.size(), std::size_t(1));  // from "Lora weights"
  QCOMPARE(r.request.loras.adapters[0].path, std::string("sd_xl_offset.safetensors"));
  QCOMPARE(r.request.loras.adapters[0].multiplier, 0.1);
  QCOMPARE(unmapped_names(meta), QStringList({"ADM Guidance", "Performance", "Schedule type", "Sharpness"}));
  QCOMPARE(unmapped(meta, "ADM Guidance"), std::string("(1.5, 0.8, 0.3)"));
}

void TestForeignMetadata::novelAi() {
  const img::ImageMetadata meta = read("novelai.png");
  QCOMPARE(meta.source, std::string("NovelAI"));
  QCOMPARE(meta.location, std::string("PNG text chunk \"Comment\""));
  const GenerationResult r = restore(meta);
  QCOMPARE(r.request.prompt, std::string("1girl, solo, masterpiece, {{smile}}"));
  QCOMPARE(r.request.negative_prompt, std::string("lowres, bad anatomy"));
  QCOMPARE(r.request.sampling.steps, 28);
  QCOMPARE(r.request.sampling.guidance_scale, 5.0);
  QCOMPARE(r.request.sampling.seed, uint64_t(2387741283));
  QCOMPARE(r.request.sampling.sampler, std::string("euler_a"));
  QCOMPARE(r.request.size.width, 832);
  QCOMPARE(r.request.size.height, 1216);
  QCOMPARE(r.request.sampling.guidance_rescale, 0.0);
  QCOMPARE(r.model_name, std::string());  // NovelAI's model is not one to look for
  QCOMPARE(unmapped_names(meta), QStringList({"Source", "deliberate_euler_ancestral_bug", "sm"}));
  QCOMPARE(unmapped(meta, "Source"), std::string("Stable Diffusion XL C1E1DE52"));
}

void TestForeignMetadata::novelAiV4() {
  const img::ImageMetadata meta = read("novelai_v4.png");
  const GenerationResult r = restore(meta);
  QCOMPARE(r.request.prompt, std::string("2girls, park"));
  QCOMPARE(r.request.negative_prompt, std::string("blurry"));
  QCOMPARE(r.request.sampling.sampler, std::string("dpmpp_2m_karras"));  // k_dpmpp_2m + karras
  QCOMPARE(r.request.sampling.guidance_rescale, 0.2);
  QCOMPARE(r.request.sampling.guidance_scale, 6.0);
  QCOMPARE(unmapped(meta, "character prompts"), std::string("girl, red hair | girl, blue hair"));
}

void TestForeignMetadata::ourOwnFiles() {
  GenerationRequest request;
  request.prompt = "a red apple";
  request.sampling.sampler = "euler";
  request.size.batch_size = 2;
  GenerationResult result;
  result.request = request;
  result.model_name = "tiny-sd";
  img::ImageSettings settings = img::image_settings(result, 0, {});
  img::ParametersExtras extras = img::parameters_extras(result);
  extras.more.push_back({"Batch size", "2"});
  const std::string parameters = img::format_parameters(request, 5, extras);
  latent::api::Image picture{8, 8, std::vector<uint8_t>(8 * 8 * 3, 100)};
  const auto png = img::encode_png(picture, {{img::kParametersChunk, parameters},
                                             {img::kSettingsChunk, img::settings_to_json(settings)}});
  const img::ImageMetadata meta = img::read_image_metadata(png);
  QCOMPARE(meta.source, std::string("Latent Studio"));
  QCOMPARE(meta.version, std::string(LATENT_VERSION));
  QVERIFY(!meta.settings_json.empty());
  QVERIFY(meta.unmapped.empty());  // our JSON holds what the text cannot say (the batch size)
  QCOMPARE(restore(meta).request.prompt, std::string("a red apple"));
}

void TestForeignMetadata::filesWithoutSettingsAndUnreadableFiles() {
  const img::ImageMetadata plain = read("no_settings.png");
  QVERIFY(!plain.found());
  QCOMPARE(plain.format, img::ImageFormat::png);
  const QString text = latent::test::data_path(QStringLiteral("metadata/not_an_image.png"));
  QString message = latent::test::error_message([&] { img::read_image_metadata_file(text.toStdString()); });
  QVERIFY2(message.contains(text) && message.contains("not a PNG, JPEG or WebP image"), qPrintable(message));
  const QString missing = latent::test::data_path(QStringLiteral("metadata/missing.png"));
  message = latent::test::error_message([&] { img::read_image_metadata_file(missing.toStdString()); });
  QVERIFY2(message.contains(missing) && message.startsWith("cannot read"), qPrintable(message));
  const QString folder = latent::test::data_path(QStringLiteral("metadata"));
  message = latent::test::error_message([&] { img::read_image_metadata_file(folder.toStdString()); });
  QVERIFY2(message.contains(folder), qPrintable(message));
  // A PNG with a damaged prompt graph and parameters text of only spaces: nothing, no throw.
  latent::api::Image picture{8, 8, std::vector<uint8_t>(8 * 8 * 3, 100)};
  const auto png = img::encode_png(picture, {{"parameters", "   "}, {"prompt", "{\"3\": {\"inputs\": [1, 2"}});
  QVERIFY(!img::read_image_metadata(png).found());
}

void TestForeignMetadata::userCommentByteOrders() {
  const auto decode = [](const std::string& bytes, bool big_endian_file) {
    return img::decode_user_comment(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), big_endian_file);
  };
  const std::string be("UNICODE\0\0S\0t\0e\0p\0s\0:\x26\x14", 8 + 14);
  const std::string le("UNICODE\0S\0t\0e\0p\0s\0:\0\x14\x26", 8 + 14);
  // Told apart by the ASCII characters' zero bytes, whatever the file's order says.
  QCOMPARE(decode(be, false), std::string("Steps:☔"));
  QCOMPARE(decode(le, true), std::string("Steps:☔"));
  // Without ASCII to tell, a byte-order mark decides, else the file's byte order.
  const std::string bom("UNICODE\0\xff\xfe\x14\x26", 12);
  QCOMPARE(decode(bom, true), std::string("☔"));
  const std::string bare("UNICODE\0\x26\x14", 10);
  QCOMPARE(decode(bare, true), std::string("☔"));
  QCOMPARE(decode(std::string("ASCII\0\0\0Steps: 5\0", 17), false), std::string("Steps: 5"));
  QCOMPARE(decode(std::string("\0\0\0\0\0\0\0\0caf\xc3\xa9", 13), false), std::string("café"));
  QCOMPARE(decode(std::string("no code at all"), false), std::string("no code at all"));
  QCOMPARE(decode(std::string("UNICODE\0\x26", 9), false), std::string());  // an odd byte: dropped
}

void TestForeignMetadata::exifReaderSurvivesDamage() {
  // UserComment (type UNDEFINED) pointing past the end, a count of 2^32-1 bytes, an IFD
  // count larger than the block, an Exif IFD pointing at IFD0 itself: read what can be read.
  const std::vector<unsigned char> comment = {'A', 'S', 'C', 'I', 'I', 0, 0, 0, 'o', 'k'};
  auto block = tiff_le({entry_le(0x9286, 7, 10, 8 + 2 + 3 * 12 + 4), entry_le(0x0131, 2, 0xffffffffu, 8),
                        entry_le(0x8769, 4, 1, 8)},
                       comment);
  img::ExifText exif = img::read_exif_text(block.data(), block.size());
  QCOMPARE(exif.user_comment, std::string("ok"));
  QVERIFY(exif.software.empty());
  block = tiff_le({entry_le(0x9286, 7, 10, 4000)});
  QVERIFY(img::read_exif_text(block.data(), block.size()).empty());
  block[8] = 200;  // 200 entries claimed, one present
  QVERIFY(img::read_exif_text(block.data(), block.size()).empty());
  // Every prefix of a good block: nothing read outside it (the sanitizer builds check this).
  block = tiff_le({entry_le(0x9286, 7, 10, 8 + 2 + 12 + 4)}, comment);
  for (std::size_t size = 0; size <= block.size(); ++size) (void)img::read_exif_text(block.data(), size);
  QCOMPARE(img::read_exif_text(block.data(), block.size()).user_comment, std::string("ok"));
  // Every prefix of each test file: never a throw, never a read past the end.
  for (const char* name : {"webui.jpg", "comfyui.webp", "fooocus_a1111.jpg", "webui_forge_itxt.png"}) {
    QFile file(latent::test::data_path(QStringLiteral("metadata/") + name));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray data = file.readAll();
    for (qsizetype size = 0; size < data.size(); size += 7)
      (void)img::read_image_metadata(std::vector<unsigned char>(data.begin(), data.begin() + size));
  }
}

void TestForeignMetadata::jsonForPngInfo() {
  const QJsonObject json = img::metadata_to_json(read("comfyui.png"));
  QCOMPARE(json["source"].toString(), QString("ComfyUI"));
  QCOMPARE(json["format"].toString(), QString("PNG"));
  const QJsonObject settings = json["settings"].toObject();
  QCOMPARE(settings["steps"].toInt(), 20);
  QCOMPARE(settings["sampler"].toString(), QString("dpmpp_2m_karras"));
  QCOMPARE(settings["guidance_scale"].toDouble(), 8.0);
  QCOMPARE(settings["seed"].toString(), QString("156680208700286"));
  QCOMPARE(settings["width"].toInt(), 512);
  QCOMPARE(settings["height"].toInt(), 768);
  QCOMPARE(settings["clip_skip"].toInt(), 2);
  QCOMPARE(settings["model"].toString(), QString("v1-5-pruned-emaonly"));
  const QJsonArray loras = settings["loras"].toArray();
  QCOMPARE(loras.size(), 2);
  QCOMPARE(loras[0].toObject()["name"].toString(), QString("watercolor"));
  QCOMPARE(loras[0].toObject()["multiplier"].toDouble(), 0.8);
  // Only what the file sets: no eta, no denoising strength, no rescale.
  for (const char* absent : {"eta", "denoising_strength", "guidance_rescale", "vae", "prompt_2"})
    QVERIFY2(!settings.contains(absent), absent);
  const QJsonArray unmapped = json["unmapped"].toArray();
  QCOMPARE(unmapped.size(), 1);
  QCOMPARE(unmapped[0].toObject()["name"].toString(), QString("strength_clip of detail_tweaker"));
  QVERIFY(json["parameters"].toString().contains("Sampler: DPM++ 2M, Schedule type: Karras"));

  const QJsonObject none = img::metadata_to_json(read("no_settings.png"));
  QVERIFY(none["source"].isNull());
  QVERIFY(none["settings"].toObject().isEmpty());
}

void TestForeignMetadata::jsonLeavesOutValuesItCannotRead() {
  latent::api::Image picture{8, 8, std::vector<uint8_t>(8 * 8 * 3, 100)};
  const auto png = img::encode_png(
      picture, {{"parameters", "a boat\nSteps: many, Sampler: Euler, CFG scale: 5, Seed: 12, Size: 64xhigh"}});
  const QJsonObject settings = img::metadata_to_json(img::read_image_metadata(png))["settings"].toObject();
  QCOMPARE(settings["prompt"].toString(), QString("a boat"));
  QCOMPARE(settings["guidance_scale"].toDouble(), 5.0);
  QCOMPARE(settings["seed"].toString(), QString("12"));
  QVERIFY(!settings.contains("steps"));
  QVERIFY(!settings.contains("width"));
}

QTEST_GUILESS_MAIN(TestForeignMetadata)
#include "tst_foreign_metadata.moc"
