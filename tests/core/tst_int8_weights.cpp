// 8-bit weights (--weights int8): per-channel quantization within half a step, layers that
// compute with their dequantized weights, the golden pipeline close to diffusers' fp32
// picture, `convert --weights int8` folders that load back to the same weights, malformed
// 8-bit files refused by name, and LoRAs merged into dequantized weights and taken out again.
#include <QtTest/QtTest>

#include <QDir>
#include <QTemporaryDir>

#include "core/image/settings_json.h"
#include "core/io/safetensors.h"
#include "core/models/conv2d.h"
#include "core/models/linear.h"
#include "core/models/quantized_weights.h"
#include "core/pipeline/engine.h"
#include "core/pipeline/lora_set.h"
#include "core/pipeline/model_bundle.h"
#include "core/pipeline/model_convert.h"
#include "core/pipeline/text_to_image.h"
#include "core/util/error.h"
#include "tests/support/error_message.h"
#include "tests/support/golden.h"

using namespace latent;

namespace {

std::unique_ptr<pipeline::ModelBundle> load(const std::string& path, const std::string& weights,
                                            const std::string& dtype = "fp32") {
  api::LoadOptions options;
  options.model_path = path;
  options.weights = weights;
  options.dtype = dtype;
  options.device = test::test_device();
  return pipeline::load_model_bundle(options);
}

std::string tiny_sd() { return test::data_path("tiny-sd").toStdString(); }

// Every 8-bit layer of a model: its weight and scales by "<part>/<module>".
std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> int8_layers(pipeline::ModelBundle& model) {
  std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> out;
  auto collect = [&](torch::nn::Module& module, const std::string& part) {
    for (const auto& item : module.named_modules("", false)) {
      if (!models::is_quantized(*item.value())) continue;
      const auto weight = *models::layer_weight(*item.value());
      out[part + "/" + item.key()] = {weight, item.value()->named_buffers(false)[models::kWeightScaleName]};
    }
  };
  collect(*model.unet, "unet");
  for (auto& encoder : model.text_encoders) collect(*encoder.model, encoder.name);
  return out;
}

torch::Tensor mean_level_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kCPU, torch::kInt32) - b.to(torch::kCPU, torch::kInt32)).abs().to(torch::kFloat64).mean();
}

}  // namespace

class TestInt8Weights : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase();
  void quantizationErrorWithinHalfAScale_data();
  void quantizationErrorWithinHalfAScale();
  void layersComputeWithDequantizedWeights();
  void modelHoldsEightBitLayers();
  void goldenPipelineCloseToFp32_data();
  void goldenPipelineCloseToFp32();
  void convertedFolderRoundTrips();
  void malformedEightBitFilesAreRefused_data();
  void malformedEightBitFilesAreRefused();
  void loraMergesIntoDequantizedWeights();
  void unknownWeightsNameIsRefused();
  void metadataRecordsTheWeights();

 private:
  QTemporaryDir tmp_;
  std::string converted_;  // tiny-sd written by convert --weights int8
};

void TestInt8Weights::initTestCase() {
  torch::set_num_threads(2);
  QVERIFY(tmp_.isValid());
  converted_ = tmp_.filePath("tiny-sd-int8").toStdString();
  pipeline::ConvertOptions options;
  options.model_path = tiny_sd();
  options.out_dir = converted_;
  pipeline::convert_model(options);
}

void TestInt8Weights::quantizationErrorWithinHalfAScale_data() {
  QTest::addColumn<QString>("kind");
  QTest::newRow("linear, float32") << "linear";
  QTest::newRow("3x3 convolution, channels-last") << "conv";
  QTest::newRow("float16 weights with a channel of zeros") << "half";
}

void TestInt8Weights::quantizationErrorWithinHalfAScale() {
  QFETCH(QString, kind);
  torch::manual_seed(7);
  torch::Tensor w;
  if (kind == "linear") w = torch::randn({48, 80}) * torch::linspace(0.01, 3.0, 48).unsqueeze(1);
  if (kind == "conv") w = torch::randn({24, 16, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast);
  if (kind == "half") {
    w = (torch::randn({32, 40}) * 0.05).to(torch::kFloat16);
    w[5].zero_();
  }
  const auto q = models::quantize_per_channel(w);
  QCOMPARE(q.values.scalar_type(), torch::kInt8);
  QCOMPARE(q.values.sizes(), w.sizes());
  QCOMPARE(q.values.strides(), w.strides());  // the weight's memory layout
  QCOMPARE(q.scale.sizes(), (std::vector<int64_t>{w.size(0)}));
  // Every channel uses the whole range: its largest weight becomes ±127.
  const auto largest = q.values.to(torch::kInt32).abs().flatten(1).amax(1);
  for (int64_t c = 0; c < w.size(0); ++c)
    QCOMPARE(largest[c].item<int>(), q.scale[c].item<float>() > 0 ? 127 : 0);

  const auto back = models::dequantize_per_channel(q.values, q.scale, torch::kFloat32);
  QCOMPARE(back.strides(), w.strides());
  const auto error = (back - w.to(torch::kFloat32)).abs().flatten(1).amax(1);  // [O]
  // Half a step of each channel; 1e-6 relative for float32's own rounding of w / s and q·s.
  const auto bound = q.scale * 0.5f * (1 + 1e-6f);
  QVERIFY2((error <= bound).all().item<bool>(),
           qPrintable(QString("largest error over half a scale: %1").arg((error / q.scale.clamp_min(1e-30)).max().item<double>())));
  QCOMPARE(back[kind == "half" ? 5 : 0].abs().sum().item<float>() == 0, kind == "half");

  // bf16 dequantization rounds q·s once, as LibTorch's own conversion does.
  const auto bf16 = models::dequantize_per_channel(q.values, q.scale, torch::kBFloat16);
  QVERIFY(torch::equal(bf16, back.to(torch::kBFloat16)));
}

void TestInt8Weights::layersComputeWithDequantizedWeights() {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  torch::nn::Linear linear(40, 24);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(8, 12, 3).padding(1).stride(2));
  const auto x = torch::randn({2, 100, 40});
  const auto image = torch::randn({2, 8, 10, 10});
  for (torch::nn::Module* layer : {static_cast<torch::nn::Module*>(linear.get()), static_cast<torch::nn::Module*>(conv.get())}) {
    torch::Tensor& weight = *models::layer_weight(*layer);
    const auto q = models::quantize_per_channel(weight);
    models::make_quantized(*layer, weight);
    weight.copy_(q.values);
    layer->named_buffers(false)[models::kWeightScaleName].copy_(q.scale);
    QVERIFY(models::is_quantized(*layer));
  }
  const auto linear_weight = models::dequantize_per_channel(linear->weight, linear->named_buffers(false)["weight_scale"], torch::kFloat32);
  const auto conv_weight = models::dequantize_per_channel(conv->weight, conv->named_buffers(false)["weight_scale"], torch::kFloat32);
  LATENT_COMPARE_CLOSE(models::linear(linear, x), torch::linear(x, linear_weight, linear->bias), (test::Tolerance{1e-5, 1e-5}));
  LATENT_COMPARE_CLOSE(models::conv2d(conv, image),
                       torch::conv2d(image, conv_weight, conv->bias, 2, 1), (test::Tolerance{1e-5, 1e-5}));
}

void TestInt8Weights::modelHoldsEightBitLayers() {
  auto full = load(tiny_sd(), "full");
  auto int8 = load(tiny_sd(), "int8");
  QCOMPARE(full->weights, std::string("full"));
  QCOMPARE(int8->weights, std::string("int8"));
  QVERIFY(int8_layers(*full).empty());
  const auto layers = int8_layers(*int8);
  // The UNet's blocks and the text encoder's layers; conv_in, conv_out and the embeddings stay.
  QVERIFY(layers.count("unet/down_blocks.0.resnets.0.conv1"));
  QVERIFY(layers.count("unet/up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k"));
  QVERIFY(layers.count("unet/mid_block.attentions.0.proj_in"));
  QVERIFY(layers.count("text_encoder/text_model.encoder.layers.0.self_attn.q_proj"));
  QVERIFY(!layers.count("unet/conv_in") && !layers.count("unet/conv_out") && !layers.count("unet/time_embedding.linear_1"));
  QCOMPARE(int8->unet->conv_in->weight.scalar_type(), torch::kFloat32);
  QCOMPARE(int8->vae->decoder->conv_in->weight.scalar_type(), torch::kFloat32);  // the VAE stays
  int64_t bytes_full = 0, bytes_int8 = 0;
  for (const auto& p : full->unet->parameters()) bytes_full += p.numel() * p.element_size();
  for (const auto& p : int8->unet->parameters()) bytes_int8 += p.numel() * p.element_size();
  qInfo("tiny UNet: %lld bytes in fp32, %lld with int8 weights", static_cast<long long>(bytes_full),
        static_cast<long long>(bytes_int8));
  QVERIFY(bytes_int8 < bytes_full * 35 / 100);
}

void TestInt8Weights::goldenPipelineCloseToFp32_data() {
  QTest::addColumn<QString>("id");
  QTest::addColumn<QString>("dtype");
  for (const char* id : {"e2e_tiny_sd_euler_p1", "e2e_tiny_sd_dpmpp_2m_p2", "e2e_tiny_sd_euler_a_h48_w64",
                         "e2e_tiny_sd_dpmpp_2m_batch2"}) {
    QTest::newRow(qPrintable(QString("%1 fp32").arg(id))) << id << "fp32";
    QTest::newRow(qPrintable(QString("%1 bf16").arg(id))) << id << "bf16";
  }
}

// The bound: 8-bit weights round each weight by at most half its channel's step,
// max|w|/254; for the tiny model's normally distributed weights (max about 3σ over a
// channel) that is an RMS error of about 3σ/(127·√12) = 0.7% of σ, six times bf16's
// weight rounding (2⁻⁹/√3 = 0.11%). tst_bf16_path holds bf16 within a mean of 3 levels of
// fp32, so 8-bit weights are held within twice that, 6 levels, whatever the compute
// precision; what was measured is printed.
void TestInt8Weights::goldenPipelineCloseToFp32() {
  QFETCH(QString, id);
  QFETCH(QString, dtype);
  static std::map<QString, std::unique_ptr<pipeline::ModelBundle>> models;
  auto& model = models[dtype];
  if (!model) model = load(tiny_sd(), "int8", dtype.toStdString());
  const QJsonObject golden = test::golden_case(id);
  const auto output = pipeline::text_to_image(*model, test::text_to_image_params(golden));
  const auto expected = test::golden_tensor(id + "/image_uint8.npy");
  QCOMPARE(output.images.sizes(), expected.sizes());
  const double mean = mean_level_difference(output.images, expected).item<double>();
  qInfo("%s, int8 weights in %s: mean |difference to diffusers' fp32| %.3f levels", qPrintable(id),
        qPrintable(dtype), mean);
  QVERIFY2(mean <= 6.0, qPrintable(QString("mean difference %1 levels").arg(mean)));
  QVERIFY2(mean > 0, "8-bit weights gave diffusers' fp32 picture exactly: were they quantized?");
}

void TestInt8Weights::convertedFolderRoundTrips() {
  // The files hold I8 weights with F32 scales beside the layers the loader makes 8-bit.
  const io::SafetensorsFile unet_file(converted_ + "/unet/diffusion_pytorch_model.safetensors");
  const std::string conv1 = "down_blocks.0.resnets.0.conv1";
  QCOMPARE(unet_file.info(conv1 + ".weight").dtype, io::DType::I8);
  QCOMPARE(unet_file.info(conv1 + ".weight_scale").dtype, io::DType::F32);
  QCOMPARE(unet_file.info("conv_in.weight").dtype, io::SafetensorsFile(tiny_sd() + "/unet/diffusion_pytorch_model.safetensors").info("conv_in.weight").dtype);
  QVERIFY(!unet_file.contains("conv_in.weight_scale"));

  // "auto" recognises the folder, and it loads to exactly the weights quantizing at load gives.
  auto quantized_at_load = load(tiny_sd(), "int8");
  auto converted = load(converted_, "auto");
  QCOMPARE(converted->weights, std::string("int8"));
  const auto expected = int8_layers(*quantized_at_load);
  const auto loaded = int8_layers(*converted);
  QCOMPARE(loaded.size(), expected.size());
  for (const auto& [name, layer] : expected) {
    QVERIFY2(loaded.count(name), name.c_str());
    QVERIFY2(torch::equal(loaded.at(name).first.cpu(), layer.first.cpu()), name.c_str());
    QVERIFY2(torch::equal(loaded.at(name).second.cpu(), layer.second.cpu()), name.c_str());
  }
  for (const auto& p : quantized_at_load->unet->named_parameters())
    QVERIFY2(torch::equal(p.value().cpu(), converted->unet->named_parameters()[p.key()].cpu()), p.key().c_str());
  // The same picture either way.
  const QJsonObject golden = test::golden_case("e2e_tiny_sd_euler_p1");
  const auto a = pipeline::text_to_image(*quantized_at_load, test::text_to_image_params(golden)).images;
  const auto b = pipeline::text_to_image(*converted, test::text_to_image_params(golden)).images;
  QVERIFY(torch::equal(a, b));

  // Asked for full weights, the folder's 8-bit layers come back dequantized: q·s.
  auto full = load(converted_, "full");
  QCOMPARE(full->weights, std::string("full"));
  const auto& [values, scale] = expected.at("unet/" + conv1);
  const auto dequantized = models::dequantize_per_channel(values.cpu(), scale.cpu(), torch::kFloat32);
  QVERIFY(torch::equal(full->unet->named_parameters()[conv1 + ".weight"].cpu().contiguous(), dequantized.contiguous()));
}

void TestInt8Weights::malformedEightBitFilesAreRefused_data() {
  QTest::addColumn<QString>("fault");
  QTest::addColumn<QString>("expected");
  const QString layer = "down_blocks.0.resnets.0.conv1";
  QTest::newRow("scale missing") << "missing scale" << "'" + layer + ".weight' has no scale tensor '" + layer + ".weight_scale'";
  QTest::newRow("scale of the wrong shape") << "wrong shape" << "the scale tensor '" + layer + ".weight_scale' is";
  QTest::newRow("scale beside a float weight") << "float weight" << "the weight '" + layer + ".weight' has scales";
  QTest::newRow("negative scale") << "negative" << "'" + layer + ".weight_scale' holds a negative or non-finite scale";
  QTest::newRow("scale without a weight") << "orphan" << "the scale tensor 'extra.weight_scale' has no 8-bit weight";
}

void TestInt8Weights::malformedEightBitFilesAreRefused() {
  QFETCH(QString, fault);
  QFETCH(QString, expected);
  const std::string layer = "down_blocks.0.resnets.0.conv1";
  // A copy of the converted folder whose UNet file has the fault.
  const QString folder = tmp_.filePath("malformed-" + QString(fault).replace(' ', '-'));
  QDir().mkpath(folder);
  for (const QString& entry : QDir(QString::fromStdString(converted_)).entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
    QDir().mkpath(folder + "/" + entry);
    for (const QString& file : QDir(QString::fromStdString(converted_) + "/" + entry).entryList(QDir::Files))
      if (!(entry == "unet" && file.endsWith(".safetensors")))
        QVERIFY(QFile::copy(QString::fromStdString(converted_) + "/" + entry + "/" + file, folder + "/" + entry + "/" + file));
  }
  QVERIFY(QFile::copy(QString::fromStdString(converted_) + "/model_index.json", folder + "/model_index.json"));
  const io::SafetensorsFile source(converted_ + "/unet/diffusion_pytorch_model.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& info : source.tensors()) {
    torch::Tensor t = source.tensor(info.name);
    if (info.name == layer + ".weight_scale") {
      if (fault == "missing scale") continue;
      if (fault == "wrong shape") t = t.narrow(0, 0, t.size(0) - 1);
      if (fault == "negative") t = -t;
    }
    if (info.name == layer + ".weight" && fault == "float weight") t = t.to(torch::kFloat32);
    tensors.emplace_back(info.name, t);
  }
  if (fault == "orphan") tensors.emplace_back("extra.weight_scale", torch::ones({4}));
  const std::string unet_path = (folder + "/unet/diffusion_pytorch_model.safetensors").toStdString();
  io::write_safetensors(unet_path, tensors);
  for (const char* weights : {"auto", "full"}) {
    const QString message = test::error_message([&] { load(folder.toStdString(), weights); });
    QVERIFY2(message.contains(expected) && message.contains("(unet)"), qPrintable(message));
  }
}

void TestInt8Weights::loraMergesIntoDequantizedWeights() {
  const QJsonObject golden = test::golden_case("lora_unet_x1.0");
  const std::string lora = test::data_path("lora/tiny-sd-lora-kohya.safetensors").toStdString();
  const double multiplier = golden.value("multiplier").toDouble();
  auto unet_output = [&](pipeline::ModelBundle& model) {
    torch::InferenceMode guard;
    const QString id = "lora_unet_x1.0";
    return model.unet->forward(test::golden_tensor(id + "/sample.npy").to(model.device), torch::tensor(500.0),
                               test::golden_tensor(id + "/encoder_hidden_states.npy").to(model.device));
  };
  // The reference: the same 8-bit weights dequantized at load, with the LoRA merged as usual.
  auto dequantized = load(converted_, "full");
  auto int8 = load(converted_, "auto");
  const auto base = unet_output(*int8);
  const auto layers_before = int8_layers(*int8);
  pipeline::LoraSet reference(*dequantized);
  reference.apply({{lora, multiplier}}, false);
  {
    pipeline::LoraSet set(*int8);
    set.apply({{lora, multiplier}}, false);
    // The layers the LoRA changes hold merged weights in the compute precision meanwhile.
    QVERIFY(int8_layers(*int8).size() < layers_before.size());
    QVERIFY(int8->unet->named_parameters()["mid_block.attentions.0.proj_in.weight"].scalar_type() == torch::kFloat32);
    LATENT_COMPARE_CLOSE(unet_output(*int8), unet_output(*dequantized), (test::Tolerance{1e-5, 1e-5}));
    set.clear();
    // Taken out, every layer holds its 8-bit weight again, bit for bit.
    const auto layers_after = int8_layers(*int8);
    QCOMPARE(layers_after.size(), layers_before.size());
    for (const auto& [name, layer] : layers_before) QVERIFY2(torch::equal(layers_after.at(name).first, layer.first), name.c_str());
    QVERIFY(torch::equal(unet_output(*int8), base));
    set.apply({{lora, multiplier}}, false);
  }
  // A LoRA set that goes takes its LoRAs with it.
  QCOMPARE(int8_layers(*int8).size(), layers_before.size());
}

void TestInt8Weights::unknownWeightsNameIsRefused() {
  const QString message = test::error_message([&] { load(tiny_sd(), "int4"); });
  QVERIFY2(message.contains("unknown weights 'int4': use auto, full or int8"), qPrintable(message));
}

void TestInt8Weights::metadataRecordsTheWeights() {
  pipeline::Engine engine;
  api::LoadOptions options;
  options.model_path = converted_;  // "auto": the folder's 8-bit weights
  engine.load(options);
  api::GenerationRequest request;
  request.prompt = "a green circle";
  request.size.width = request.size.height = 64;
  request.sampling.steps = 2;
  request.sampling.sampler = "euler";
  const auto result = engine.generate(request);
  QCOMPARE(result.weights, std::string("int8"));
  const std::string json = image::settings_to_json(image::image_settings(result, 0, options));
  QVERIFY2(QString::fromStdString(json).contains(QStringLiteral("\"weights\":\"int8\"")), json.c_str());
  image::ImageSettings back;
  QVERIFY(image::settings_from_json(json, &back));
  QCOMPARE(back.weights, std::string("int8"));
}

QTEST_GUILESS_MAIN(TestInt8Weights)
#include "tst_int8_weights.moc"
