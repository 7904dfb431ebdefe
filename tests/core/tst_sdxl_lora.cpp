// SDXL LoRA against diffusers on the tiny SDXL base: kohya-ss files (original SGM UNet
// names, lora_te1_ / lora_te2_ text encoders, LoCon 3x3 convolutions; also with diffusers
// UNet names) and their diffusers/PEFT twin, on the UNet, on both text encoders and end to
// end through text to image; mixing and switching without a reload; LyCORIS formats; and
// the refusal of an SD 1.x LoRA by an SDXL model and of an SDXL LoRA by an SD 1.x model.
#include <QtTest/QtTest>

#include <QJsonArray>
#include <QTemporaryDir>

#include "core/io/lora_keys.h"
#include "core/io/safetensors.h"
#include "core/models/lora.h"
#include "core/pipeline/lora_set.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/text_conditioning.h"
#include "core/pipeline/text_to_image.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/error_message.h"
#include "tests/support/model_weights.h"
#include "tests/support/golden_set.h"

using namespace latent;

namespace {

using test::changed;
using test::snapshot;
using test::write_lora;

using Tensors = std::vector<std::pair<std::string, torch::Tensor>>;

const test::GoldenSet& sdxl() {
  static const test::GoldenSet set("sdxl");
  return set;
}

pipeline::ModelBundle& sdxl_model() { return test::golden_model("sdxl/tiny-sdxl"); }

// The golden LoRA files: "kohya" or "diffusers", as the index names them.
std::string lora_file(const QString& layout) {
  const QJsonObject files = sdxl().index().value("lora").toObject().value("files").toObject();
  return sdxl().data_file(files.value(layout).toString()).toStdString();
}

std::string sd1_lora_file(const QString& layout) {
  return test::data_path("lora/tiny-sd-lora-" + layout + ".safetensors").toStdString();
}

Tensors read_all(const std::string& path) {
  const io::SafetensorsFile file(path);
  Tensors out;
  for (const auto& info : file.tensors()) out.emplace_back(info.name, file.tensor(info.name).clone());
  return out;
}

std::size_t count_with_prefix(const std::vector<std::string>& names, const std::string& prefix) {
  return static_cast<std::size_t>(std::count_if(names.begin(), names.end(),
                                                [&](const std::string& n) { return n.rfind(prefix, 0) == 0; }));
}

torch::Tensor unet_output(pipeline::ModelBundle& model, const QString& id) {
  torch::InferenceMode guard;
  models::UNetAddedConditions added{sdxl().tensor(id + "/text_embeds.npy"), sdxl().tensor(id + "/time_ids.npy")};
  const double timestep = sdxl().case_of(id).value("inputs").toObject().value("timestep").toDouble();
  return model.unet->forward(sdxl().tensor(id + "/sample.npy"), torch::tensor(timestep),
                             sdxl().tensor(id + "/encoder_hidden_states.npy"), nullptr, &added);
}

// What StableDiffusionXLPipeline.encode_prompt gives for the case's ids: both encoders'
// penultimate states side by side, and text_encoder_2's pooled vector.
std::pair<torch::Tensor, torch::Tensor> text_outputs(pipeline::ModelBundle& model, const QString& id) {
  torch::InferenceMode guard;
  const auto options = models::CLIPEncodeOptions::sdxl(0, /*pooled=*/true);
  const auto first = model.text_encoders.at(0).model->encode(sdxl().tensor(id + "/input_ids_1.npy"), options);
  const auto second = model.text_encoders.at(1).model->encode(sdxl().tensor(id + "/input_ids_2.npy"), options);
  return {torch::cat({first.hidden, second.hidden}, -1).to(torch::kFloat32), second.pooled.to(torch::kFloat32)};
}

// The kohya file with its UNet modules renamed to diffusers paths (lora_unet_down_blocks_…),
// as some kohya SDXL files spell them.
Tensors with_diffusers_unet_names(const Tensors& kohya, const models::LoraTargets& targets) {
  Tensors out;
  for (const auto& [name, tensor] : kohya) {
    std::string renamed = name;
    const std::string unet = "lora_unet_";
    if (name.rfind(unet, 0) == 0) {
      const auto dot = name.find('.');
      const auto target = targets.keys->translate(name.substr(0, dot));
      if (!target) throw std::runtime_error("no diffusers module for " + name);
      renamed = unet + io::underscored(target->module) + name.substr(dot);
    }
    out.emplace_back(renamed, tensor);
  }
  return out;
}

// Only the tensors whose names start with `prefix`.
Tensors only(const Tensors& tensors, const std::string& prefix) {
  Tensors out;
  for (const auto& entry : tensors)
    if (entry.first.rfind(prefix, 0) == 0) out.push_back(entry);
  return out;
}

}  // namespace

class TestSdxlLora : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void translatesKeys_data();
  void translatesKeys();
  void readsEveryModuleOfBothLayouts();
  void unetMatchesDiffusers_data();
  void unetMatchesDiffusers();
  void textEncodersMatchDiffusers_data();
  void textEncodersMatchDiffusers();
  void endToEndMatchesDiffusers_data();
  void endToEndMatchesDiffusers();
  void mixesAndSwitchesWithoutReload();
  void lycorisFormats();
  void refusesOtherFamilies_data();
  void refusesOtherFamilies();
  void reportsShapeMismatchAsBefore();
  void refinerHasOnlyTheSecondTextEncoder();

 private:
  QTemporaryDir tmp_;
};

void TestSdxlLora::initTestCase() {
  torch::set_num_threads(2);
  QVERIFY(tmp_.isValid());
  QCOMPARE(sdxl_model().family, io::ModelFamily::sdxl_base);
}

void TestSdxlLora::translatesKeys_data() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<QString>("expected");  // "owner/module", or "" when nothing matches
  // The SGM names of section 11 of the porting notes.
  QTest::newRow("sgm attention") << "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"
                                 << "unet/down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q";
  QTest::newRow("sgm second transformer block") << "lora_unet_input_blocks_7_1_transformer_blocks_1_ff_net_0_proj"
                                                << "unet/down_blocks.2.attentions.0.transformer_blocks.1.ff.net.0.proj";
  QTest::newRow("sgm middle proj_in") << "lora_unet_middle_block_1_proj_in" << "unet/mid_block.attentions.0.proj_in";
  QTest::newRow("sgm middle resnet") << "lora_unet_middle_block_2_in_layers_2" << "unet/mid_block.resnets.1.conv1";
  QTest::newRow("sgm upsampler after attention") << "lora_unet_output_blocks_2_2_conv" << "unet/up_blocks.0.upsamplers.0.conv";
  QTest::newRow("sgm upsampler without attention")
      << "lora_unet_output_blocks_8_1_conv" << "";  // the last level has no upsampler
  QTest::newRow("sgm in_layers") << "lora_unet_input_blocks_1_0_in_layers_2" << "unet/down_blocks.0.resnets.0.conv1";
  QTest::newRow("sgm emb_layers") << "lora_unet_input_blocks_1_0_emb_layers_1"
                                  << "unet/down_blocks.0.resnets.0.time_emb_proj";
  QTest::newRow("sgm out_layers") << "lora_unet_output_blocks_8_0_out_layers_3" << "unet/up_blocks.2.resnets.2.conv2";
  QTest::newRow("sgm skip_connection") << "lora_unet_output_blocks_8_0_skip_connection"
                                       << "unet/up_blocks.2.resnets.2.conv_shortcut";
  QTest::newRow("sgm downsampler") << "lora_unet_input_blocks_3_0_op" << "unet/down_blocks.0.downsamplers.0.conv";
  QTest::newRow("sgm attention the first level lacks") << "lora_unet_input_blocks_1_1_proj_in" << "";
  QTest::newRow("kohya diffusers names") << "lora_unet_down_blocks_2_attentions_1_transformer_blocks_1_attn2_to_out_0"
                                         << "unet/down_blocks.2.attentions.1.transformer_blocks.1.attn2.to_out.0";
  QTest::newRow("te1") << "lora_te1_text_model_encoder_layers_3_self_attn_q_proj"
                       << "text_encoder/text_model.encoder.layers.3.self_attn.q_proj";
  QTest::newRow("te2") << "lora_te2_text_model_encoder_layers_9_mlp_fc2" << "text_encoder_2/text_model.encoder.layers.9.mlp.fc2";
  QTest::newRow("te2 layer te1 lacks") << "lora_te1_text_model_encoder_layers_9_mlp_fc2" << "";
  QTest::newRow("one-encoder prefix") << "lora_te_text_model_encoder_layers_0_mlp_fc1" << "";
  QTest::newRow("peft unet") << "unet.up_blocks.1.attentions.2.transformer_blocks.0.attn1.to_k"
                             << "unet/up_blocks.1.attentions.2.transformer_blocks.0.attn1.to_k";
  QTest::newRow("peft text_encoder") << "text_encoder.text_model.encoder.layers.0.mlp.fc1"
                                     << "text_encoder/text_model.encoder.layers.0.mlp.fc1";
  QTest::newRow("peft text_encoder_2") << "text_encoder_2.text_model.encoder.layers.7.self_attn.out_proj"
                                       << "text_encoder_2/text_model.encoder.layers.7.self_attn.out_proj";
  QTest::newRow("old text attention names") << "text_encoder_2.text_model.encoder.layers.1.self_attn.to_v"
                                            << "text_encoder_2/text_model.encoder.layers.1.self_attn.v_proj";
  QTest::newRow("text encoder 3") << "text_encoder_3.text_model.encoder.layers.0.mlp.fc1" << "";
}

void TestSdxlLora::translatesKeys() {
  QFETCH(QString, name);
  QFETCH(QString, expected);
  pipeline::LoraSet set(sdxl_model());
  const auto target = set.targets().keys->translate(name.toStdString());
  const QString actual = target ? QString::fromStdString(target->owner() + "/" + target->module) : "";
  QCOMPARE(actual, expected);
}

void TestSdxlLora::readsEveryModuleOfBothLayouts() {
  pipeline::LoraSet set(sdxl_model());
  const auto kohya = set.file(lora_file("kohya"));
  const auto diffusers = set.file(lora_file("diffusers"));
  // The index's module counts: 256 UNet, 24 text_encoder, 60 text_encoder_2.
  const QJsonObject per_prefix = sdxl().index().value("lora").toObject().value("modules_per_prefix").toObject();
  for (const auto& file : {kohya, diffusers}) {
    QVERIFY2(file->complete(), qPrintable(QString::fromStdString(models::check_lora_fit(*file, true))));
    QCOMPARE(file->matched_keys, file->key_count);
    std::map<std::string, int> owners;
    for (const auto& layer : file->layers) ++owners[layer.target.owner()];
    QCOMPARE(owners["unet"], per_prefix.value("lora_unet").toInt());
    QCOMPARE(owners["text_encoder"], per_prefix.value("lora_te1").toInt());
    QCOMPARE(owners["text_encoder_2"], per_prefix.value("lora_te2").toInt());
  }
  // Both layouts change the same modules by the same scale: kohya's alpha over the rank,
  // the twin's lora_alpha / alpha_pattern over its rank.
  std::map<std::string, double> kohya_scales;
  for (const auto& layer : kohya->layers) kohya_scales[layer.target.owner() + "/" + layer.target.module] = layer.scale;
  QCOMPARE(kohya->layers.size(), diffusers->layers.size());
  for (const auto& layer : diffusers->layers) {
    const std::string slot = layer.target.owner() + "/" + layer.target.module;
    QVERIFY2(kohya_scales.count(slot), slot.c_str());
    QCOMPARE(layer.scale, kohya_scales.at(slot));
  }
}

void TestSdxlLora::unetMatchesDiffusers_data() {
  QTest::addColumn<QString>("layout");
  QTest::addColumn<QString>("id");
  for (const char* layout : {"kohya", "kohya diffusers names", "diffusers"})
    for (const QString& id : sdxl().ids("lora_unet"))
      QTest::newRow(qPrintable(QString("%1 %2").arg(layout, id))) << layout << id;
}

void TestSdxlLora::unetMatchesDiffusers() {
  QFETCH(QString, layout);
  QFETCH(QString, id);
  const QJsonObject golden = sdxl().case_of(id);
  auto& model = sdxl_model();
  const auto tol = test::tolerance_of(golden);
  const auto before = snapshot(model);
  const auto base = unet_output(model, id);
  LATENT_COMPARE_CLOSE(base, sdxl().tensor(id + "/noise_pred_no_lora.npy"), tol);
  {
    pipeline::LoraSet set(model);
    std::string path = lora_file(layout == "diffusers" ? "diffusers" : "kohya");
    if (layout == "kohya diffusers names")
      path = write_lora(tmp_, "diffusers-unet-names.safetensors",
                        with_diffusers_unet_names(read_all(path), set.targets()));
    const auto applied = set.apply({{path, golden.value("multiplier").toDouble()}}, false);
    QCOMPARE(applied.size(), std::size_t(1));
    QVERIFY2(applied[0].warning.empty(), applied[0].warning.c_str());
    LATENT_COMPARE_CLOSE(unet_output(model, id), sdxl().tensor(id + "/noise_pred.npy"), tol);
  }  // the set restores the weights when it goes
  QVERIFY(changed(model, before).empty());
  QVERIFY(torch::equal(unet_output(model, id), base));
}

void TestSdxlLora::textEncodersMatchDiffusers_data() {
  QTest::addColumn<QString>("layout");
  QTest::addColumn<QString>("id");
  for (const char* layout : {"kohya", "diffusers"})
    for (const QString& id : sdxl().ids("lora_text_encoders_sdxl"))
      QTest::newRow(qPrintable(QString("%1 %2").arg(layout, id))) << layout << id;
}

void TestSdxlLora::textEncodersMatchDiffusers() {
  QFETCH(QString, layout);
  QFETCH(QString, id);
  const QJsonObject golden = sdxl().case_of(id);
  auto& model = sdxl_model();
  const auto tol = test::tolerance_of(golden);
  const auto before = snapshot(model);
  const auto [embeds, pooled] = text_outputs(model, id);
  LATENT_COMPARE_CLOSE(embeds, sdxl().tensor(id + "/prompt_embeds_no_lora.npy"), tol);
  LATENT_COMPARE_CLOSE(pooled, sdxl().tensor(id + "/pooled_prompt_embeds_no_lora.npy"), tol);
  pipeline::LoraSet set(model);
  set.apply({{lora_file(layout), golden.value("multiplier").toDouble()}}, false);
  const auto [lora_embeds, lora_pooled] = text_outputs(model, id);
  LATENT_COMPARE_CLOSE(lora_embeds, sdxl().tensor(id + "/prompt_embeds.npy"), tol);
  LATENT_COMPARE_CLOSE(lora_pooled, sdxl().tensor(id + "/pooled_prompt_embeds.npy"), tol);
  // Both encoders changed; the VAE did not, nor text_encoder_2's projection (no LoRA on it).
  const auto touched = changed(model, before);
  QVERIFY(count_with_prefix(touched, "text_encoder/") > 0);
  QVERIFY(count_with_prefix(touched, "text_encoder_2/") > 0);
  QCOMPARE(count_with_prefix(touched, "vae/"), std::size_t(0));
  QCOMPARE(count_with_prefix(touched, "text_encoder_2/text_projection"), std::size_t(0));
  set.clear();
  QVERIFY(changed(model, before).empty());
}

void TestSdxlLora::endToEndMatchesDiffusers_data() {
  QTest::addColumn<QString>("layout");
  QTest::addColumn<QString>("id");
  for (const QString& id : sdxl().ids("pipeline_sdxl")) {
    if (!sdxl().case_of(id).contains("lora")) continue;
    for (const char* layout : {"kohya", "diffusers"})
      QTest::newRow(qPrintable(QString("%1 %2").arg(layout, id))) << layout << id;
  }
}

void TestSdxlLora::endToEndMatchesDiffusers() {
  QFETCH(QString, layout);
  QFETCH(QString, id);
  const QJsonObject golden = sdxl().case_of(id);
  const QJsonObject tol = golden.value("tolerance").toObject();
  const QJsonObject lora = golden.value("lora").toObject();
  auto& model = sdxl_model();
  const auto before = snapshot(model);
  const auto p = test::sdxl_text_to_image_params(golden);

  // As the engine does: the request's LoRAs through the model's LoraSet, then the pipeline.
  pipeline::LoraSet set(model);
  const std::string path = sdxl().data_file(lora.value("files").toObject().value(layout).toString()).toStdString();
  const auto applied = set.apply({{path, lora.value("multiplier").toDouble()}}, false);
  QVERIFY2(applied.at(0).warning.empty(), applied[0].warning.c_str());

  const auto conditioning = pipeline::encode_text_conditioning(model, p).batched();
  const test::Tolerance embeds{1e-4, 1e-4};
  LATENT_COMPARE_CLOSE(conditioning.context, sdxl().tensor(id + "/prompt_embeds.npy"), embeds);
  LATENT_COMPARE_CLOSE(conditioning.pooled, sdxl().tensor(id + "/add_text_embeds.npy"), embeds);
  QVERIFY(torch::equal(conditioning.time_ids.cpu(), sdxl().tensor(id + "/add_time_ids.npy")));

  std::vector<torch::Tensor> steps;
  const auto output = pipeline::text_to_image(
      model, p, [&](const pipeline::StepState& state) { steps.push_back(state.latents.cpu()); });
  QVERIFY(torch::equal(output.init_noise, sdxl().tensor(id + "/init_noise.npy")));
  const test::Tolerance latents{tol.value("latents_atol").toDouble(), 0.0};
  const auto trajectory = sdxl().tensor(id + "/latents_trajectory.npy");  // [steps + 1, B, 4, h, w]
  QCOMPARE(static_cast<int64_t>(steps.size()) + 1, trajectory.size(0));
  for (size_t i = 0; i < steps.size(); ++i) LATENT_COMPARE_CLOSE(steps[i], trajectory[i + 1], latents);
  LATENT_COMPARE_CLOSE(output.latents, sdxl().tensor(id + "/latents_final.npy"), latents);
  const double pixels = test::max_abs_difference(output.images, sdxl().tensor(id + "/image_uint8.npy"));
  QVERIFY2(pixels <= tol.value("uint8_max_abs_diff").toDouble(), qPrintable(QString("pixels differ by %1").arg(pixels)));

  set.clear();
  QVERIFY(changed(model, before).empty());
}

void TestSdxlLora::mixesAndSwitchesWithoutReload() {
  auto& model = sdxl_model();
  const auto before = snapshot(model);
  const QString full = "lora_unet_sdxl_x1.0", half = "lora_unet_sdxl_x0.5";
  const auto tol = test::tolerance_of(sdxl().case_of(full));
  const std::string kohya = lora_file("kohya"), diffusers = lora_file("diffusers");
  pipeline::LoraSet set(model);

  set.apply({{kohya, 1.0}}, false);
  LATENT_COMPARE_CLOSE(unet_output(model, full), sdxl().tensor(full + "/noise_pred.npy"), tol);
  const std::size_t touched = set.touched_weights();
  QCOMPARE(touched, std::size_t(256 + 24 + 60));

  // Switched to the twin at another multiplier: the same weights, recomputed from the base.
  set.apply({{diffusers, 0.5}}, false);
  LATENT_COMPARE_CLOSE(unet_output(model, half), sdxl().tensor(half + "/noise_pred.npy"), tol);
  QCOMPARE(set.touched_weights(), touched);

  // Mixed: half of each file is the whole LoRA once, in every part of the model.
  set.apply({{kohya, 0.5}, {diffusers, 0.5}}, false);
  LATENT_COMPARE_CLOSE(unet_output(model, full), sdxl().tensor(full + "/noise_pred.npy"), tol);
  const QString text = "lora_text_encoders_sdxl_x1.0";
  const auto [embeds, pooled] = text_outputs(model, text);
  LATENT_COMPARE_CLOSE(embeds, sdxl().tensor(text + "/prompt_embeds.npy"), test::tolerance_of(sdxl().case_of(text)));
  LATENT_COMPARE_CLOSE(pooled, sdxl().tensor(text + "/pooled_prompt_embeds.npy"),
                       test::tolerance_of(sdxl().case_of(text)));
  QCOMPARE(set.cached_files(), std::size_t(2));

  // Nothing: every weight back to the base, bit for bit.
  set.apply({}, false);
  QCOMPARE(set.touched_weights(), std::size_t(0));
  QVERIFY(changed(model, before).empty());
}

void TestSdxlLora::lycorisFormats() {
  auto& model = sdxl_model();
  const auto before = snapshot(model);
  // LoHa on a text_encoder_2 layer, LoKr on a UNet layer named the SGM way, LoCon with a
  // Tucker core on a 3x3 convolution named the SGM way.
  const std::string te2 = "text_model.encoder.layers.4.self_attn.v_proj";
  const std::string ff = "down_blocks.2.attentions.1.transformer_blocks.1.ff.net.2";
  const std::string conv = "up_blocks.1.resnets.2.conv2";
  const auto w_te2 = before.at("text_encoder_2/" + te2 + ".weight");
  const auto w_ff = before.at("unet/" + ff + ".weight");
  const auto w_conv = before.at("unet/" + conv + ".weight");
  torch::manual_seed(5);
  const int64_t out = w_te2.size(0), in = w_te2.size(1);
  const auto w1a = torch::randn({out, 2}) * 0.1, w1b = torch::randn({2, in}) * 0.1;
  const auto w2a = torch::randn({out, 2}) * 0.1, w2b = torch::randn({2, in}) * 0.1;
  const auto k1 = torch::randn({4, 4}) * 0.1, k2a = torch::randn({w_ff.size(0) / 4, 2}) * 0.1,
             k2b = torch::randn({2, w_ff.size(1) / 4}) * 0.1;
  const int64_t cout = w_conv.size(0), cin = w_conv.size(1);
  const auto down = torch::randn({3, cin, 1, 1}) * 0.1, mid = torch::randn({3, 3, 3, 3}) * 0.1,
             up = torch::randn({cout, 3, 1, 1}) * 0.1;
  const std::string loha = "lora_te2_" + io::underscored(te2);
  const std::string lokr = "lora_unet_input_blocks_8_1_transformer_blocks_1_ff_net_2";
  const std::string locon = "lora_unet_output_blocks_5_0_out_layers_3";
  const std::string path =
      write_lora(tmp_, "lycoris-sdxl.safetensors",
                 {{loha + ".hada_w1_a", w1a}, {loha + ".hada_w1_b", w1b}, {loha + ".hada_w2_a", w2a},
                  {loha + ".hada_w2_b", w2b}, {loha + ".alpha", torch::tensor(1.0f)},
                  {lokr + ".lokr_w1", k1}, {lokr + ".lokr_w2_a", k2a}, {lokr + ".lokr_w2_b", k2b},
                  {lokr + ".alpha", torch::tensor(1.0f)},
                  {locon + ".lora_down.weight", down}, {locon + ".lora_mid.weight", mid},
                  {locon + ".lora_up.weight", up}, {locon + ".alpha", torch::tensor(6.0f)}});
  pipeline::LoraSet set(model);
  set.apply({{path, 1.0}}, false);
  const auto after = snapshot(model);
  const test::Tolerance exact{1e-6, 1e-6};
  LATENT_COMPARE_CLOSE(after.at("text_encoder_2/" + te2 + ".weight"), w_te2 + 0.5 * (w1a.mm(w1b) * w2a.mm(w2b)), exact);
  LATENT_COMPARE_CLOSE(after.at("unet/" + ff + ".weight"), w_ff + 0.5 * torch::kron(k1, k2a.mm(k2b)), exact);
  const auto tucker = torch::einsum("oa,abkl,bi->oikl", {up.flatten(1), mid, down.flatten(1)});
  LATENT_COMPARE_CLOSE(after.at("unet/" + conv + ".weight"), w_conv + 2.0 * tucker, exact);
  QCOMPARE(changed(model, before).size(), std::size_t(3));
  set.clear();
  QVERIFY(changed(model, before).empty());
}

void TestSdxlLora::refusesOtherFamilies_data() {
  QTest::addColumn<QString>("model");  // "sdxl" or "sd1"
  QTest::addColumn<QString>("file");   // "<family>/<layout>[/unet only]"
  QTest::addColumn<QStringList>("expected");
  const QStringList sd1_on_sdxl = {"is a LoRA for Stable Diffusion 1.x", "the loaded model is SDXL base"};
  const QStringList sdxl_on_sd1 = {"is a LoRA for SDXL", "the loaded model is Stable Diffusion 1.x"};
  QTest::newRow("sd1 kohya on sdxl") << "sdxl" << "sd1/kohya" << (sd1_on_sdxl + QStringList{"one text encoder", "lora_te_"});
  QTest::newRow("sd1 diffusers on sdxl") << "sdxl" << "sd1/diffusers" << sd1_on_sdxl;
  QTest::newRow("sd1 peft-baked on sdxl") << "sdxl" << "sd1/peft-baked" << sd1_on_sdxl;
  QTest::newRow("sd1 kohya unet only on sdxl")
      << "sdxl" << "sd1/kohya/unet only" << (sd1_on_sdxl + QStringList{"outermost level", "down_blocks_0_attentions"});
  QTest::newRow("sdxl kohya on sd1") << "sd1" << "sdxl/kohya" << (sdxl_on_sd1 + QStringList{"two text encoders", "lora_te1_"});
  QTest::newRow("sdxl diffusers on sd1") << "sd1" << "sdxl/diffusers" << (sdxl_on_sd1 + QStringList{"text_encoder_2."});
  QTest::newRow("sdxl kohya unet only on sd1")
      << "sd1" << "sdxl/kohya/unet only" << (sdxl_on_sd1 + QStringList{"more than one block", "transformer_blocks_1"});
}

void TestSdxlLora::refusesOtherFamilies() {
  QFETCH(QString, model);
  QFETCH(QString, file);
  QFETCH(QStringList, expected);
  auto& bundle = model == "sdxl" ? sdxl_model() : test::golden_model("tiny-sd");
  const QStringList parts = file.split('/');
  std::string path = parts[0] == "sd1" ? sd1_lora_file(parts[1]) : lora_file(parts[1]);
  if (parts.size() > 2)
    path = write_lora(tmp_, file.replace('/', '-') + ".safetensors", only(read_all(path), "lora_unet_"));
  const auto before = snapshot(bundle);
  pipeline::LoraSet set(bundle);
  for (bool partial : {false, true}) {
    const QString message = test::error_message([&] { set.apply({{path, 1.0}}, partial); });
    QVERIFY2(!message.isEmpty(), "the file was accepted");
    if (!partial) qInfo("%s", qPrintable(message));
    for (const QString& part : expected) QVERIFY2(message.contains(part), qPrintable(message));
    QVERIFY2(message.contains(QString::fromStdString(path)), qPrintable(message));
    QVERIFY2(message.contains("Nothing was applied"), qPrintable(message));
    QVERIFY(changed(bundle, before).empty());
  }
}

void TestSdxlLora::reportsShapeMismatchAsBefore() {
  // SDXL names at the real model's widths: the family fits, the shapes do not.
  auto& model = sdxl_model();
  Tensors tensors;
  auto add = [&](const std::string& module, int64_t out, int64_t in) {
    tensors.emplace_back(module + ".lora_down.weight", torch::randn({4, in}));
    tensors.emplace_back(module + ".lora_up.weight", torch::randn({out, 4}));
    tensors.emplace_back(module + ".alpha", torch::tensor(4.0f));
  };
  add("lora_te1_text_model_encoder_layers_0_self_attn_q_proj", 768, 768);
  add("lora_te2_text_model_encoder_layers_0_self_attn_q_proj", 1280, 1280);
  add("lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k", 640, 2048);
  const std::string path = write_lora(tmp_, "sdxl-real-widths.safetensors", tensors);
  const auto before = snapshot(model);
  pipeline::LoraSet set(model);
  const QString message = test::error_message([&] { set.apply({{path, 1.0}}, true); });
  qInfo("%s", qPrintable(message));
  QVERIFY2(message.contains("was made for another model") && message.contains("3 of its modules do not fit"),
           qPrintable(message));
  QVERIFY2(message.contains("2048") && !message.contains("is a LoRA for"), qPrintable(message));
  QVERIFY(changed(model, before).empty());
}

void TestSdxlLora::refinerHasOnlyTheSecondTextEncoder() {
  auto& refiner = test::golden_model("sdxl/tiny-sdxl-refiner");
  QCOMPARE(refiner.family, io::ModelFamily::sdxl_refiner);
  pipeline::LoraSet set(refiner);
  auto owner_of = [&](const std::string& name) {
    const auto target = set.targets().keys->translate(name);
    return target ? target->owner() : std::string();
  };
  QCOMPARE(owner_of("lora_te2_text_model_encoder_layers_0_mlp_fc1"), std::string("text_encoder_2"));
  QCOMPARE(owner_of("text_encoder_2.text_model.encoder.layers.0.mlp.fc1"), std::string("text_encoder_2"));
  QCOMPARE(owner_of("lora_te1_text_model_encoder_layers_0_mlp_fc1"), std::string());
  QCOMPARE(owner_of("lora_te_text_model_encoder_layers_0_mlp_fc1"), std::string());

  // A text-encoder-only LoRA of the base: its second half fits, the first is named as missing.
  const auto before = snapshot(refiner);
  const std::string path =
      write_lora(tmp_, "text-encoders-only.safetensors", only(read_all(lora_file("kohya")), "lora_te"));
  const QString message = test::error_message([&] { set.apply({{path, 1.0}}, false); });
  qInfo("%s", qPrintable(message));
  QVERIFY2(message.contains("no first text encoder") && message.contains("lora_te1_"), qPrintable(message));
  QVERIFY(changed(refiner, before).empty());
  const auto applied = set.apply({{path, 1.0}}, true);
  QVERIFY2(QString::fromStdString(applied.at(0).warning).contains("applied in part"), applied[0].warning.c_str());
  const auto touched = changed(refiner, before);
  QCOMPARE(touched.size(), count_with_prefix(touched, "text_encoder_2/"));
  QCOMPARE(touched.size(), std::size_t(60));
  set.clear();
  QVERIFY(changed(refiner, before).empty());
}

QTEST_GUILESS_MAIN(TestSdxlLora)
#include "tst_sdxl_lora.moc"
