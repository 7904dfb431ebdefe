// The tiny autoencoder (TAESD, diffusers' AutoencoderTiny) against diffusers (fast/golden):
// decoding latents of every magnitude, odd sizes and batches, and encoding pictures, at the
// real TAESD size and at a tiny width, from diffusers folders and from TAESD's own files;
// and the loader's refusals.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include "core/image/tensor_image.h"
#include "core/pipeline/autoencoder_files.h"
#include "core/util/error.h"
#include "tests/support/golden.h"
#include "tests/support/fast_golden.h"
#include "tests/support/golden_set.h"
#include "tests/support/image_compare.h"

using namespace latent;

namespace {

const test::GoldenSet& fast() { return test::fast_golden(); }

// A case's model, as a diffusers folder or as TAESD's own decoder file (with its encoder beside it).
pipeline::LoadedAutoencoder& autoencoder(const QString& model, bool original) {
  static std::map<QString, std::unique_ptr<pipeline::LoadedAutoencoder>> cache;
  const QString path = original ? test::data_path("fast/" + model + "-original/taesd_decoder.safetensors")
                                : test::data_path("fast/" + model);
  auto& slot = cache[path];
  if (!slot) slot = pipeline::load_autoencoder(path.toStdString(), {}, torch::kCPU, torch::kFloat32);
  return *slot;
}

test::Tolerance tolerance_of(const QJsonObject& golden) {
  const QJsonObject tol = golden.value("tolerance").toObject();
  return {tol.value("atol").toDouble(), tol.value("rtol").toDouble()};
}

void add_rows(const QString& kind) {
  QTest::addColumn<QString>("id");
  QTest::addColumn<bool>("original");
  for (const QString& id : fast().ids(kind)) {
    QTest::newRow(qPrintable(id)) << id << false;
    // taesd-tiny's weights are also stored in TAESD's own layout.
    if (fast().case_of(id).value("model").toString() == "taesd-tiny")
      QTest::newRow(qPrintable(id + " original files")) << id << true;
  }
}

}  // namespace

class TestFastAutoencoderTiny : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(2); }

  void decodeMatchesDiffusers_data() { add_rows("taesd_decode"); }
  void decodeMatchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(bool, original);
    torch::InferenceMode inference_mode;
    const QJsonObject golden = fast().case_of(id);
    auto& vae = autoencoder(golden.value("model").toString(), original);
    QVERIFY(vae.is_tiny());
    const auto decoded = vae.tiny->decode(fast().tensor(id + "/latents.npy"));
    LATENT_COMPARE_CLOSE(decoded, fast().tensor(id + "/decoded.npy"), tolerance_of(golden));
    LATENT_COMPARE_IMAGES(image::decoded_to_uint8(decoded), fast().tensor(id + "/image_uint8.npy"),
                          golden.value("tolerance").toObject().value("uint8_max_abs_diff").toInt(1));
  }

  void encodeMatchesDiffusers_data() { add_rows("taesd_encode"); }
  void encodeMatchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(bool, original);
    torch::InferenceMode inference_mode;
    const QJsonObject golden = fast().case_of(id);
    auto& vae = autoencoder(golden.value("model").toString(), original);
    QVERIFY(vae.has_encoder);
    LATENT_COMPARE_CLOSE(vae.tiny->encode(fast().tensor(id + "/image.npy")), fast().tensor(id + "/latents.npy"),
                         tolerance_of(golden));
  }

  // forward(): the latents stored in 8 bits as a picture stores them, and decoded again.
  void roundTripThroughEightBitsMatchesDiffusers_data() { add_rows("taesd_roundtrip"); }
  void roundTripThroughEightBitsMatchesDiffusers() {
    QFETCH(QString, id);
    QFETCH(bool, original);
    torch::InferenceMode inference_mode;
    const QJsonObject golden = fast().case_of(id);
    const test::Tolerance tolerance = tolerance_of(golden);
    auto& vae = autoencoder(golden.value("model").toString(), original);
    const auto image = fast().tensor(id + "/image.npy");
    const auto latents = vae.tiny->encode(image);
    LATENT_COMPARE_CLOSE(latents, fast().tensor(id + "/latents.npy"), tolerance);
    const auto scaled = vae.tiny->scale_latents(latents);
    LATENT_COMPARE_CLOSE(scaled, fast().tensor(id + "/scaled_latents.npy"), tolerance);
    QVERIFY(scaled.min().item<float>() >= 0 && scaled.max().item<float>() <= 1);
    const auto quantized = scaled.mul(255).round().to(torch::kUInt8);
    QVERIFY(torch::equal(quantized, fast().tensor(id + "/quantized_uint8.npy")));
    LATENT_COMPARE_CLOSE(vae.tiny->unscale_latents(quantized.to(torch::kFloat32).div(255)),
                         fast().tensor(id + "/unscaled_latents.npy"), tolerance);
    LATENT_COMPARE_CLOSE(vae.tiny->forward(image), fast().tensor(id + "/decoded.npy"), tolerance);
  }

  void realTaesdHasItsSize() {
    const auto& vae = autoencoder("taesd", false);
    int64_t encoder = 0, decoder = 0;
    for (const auto& p : vae.tiny->encoder->parameters()) encoder += p.numel();
    for (const auto& p : vae.tiny->decoder->parameters()) decoder += p.numel();
    QCOMPARE(encoder, int64_t{1222532});
    QCOMPARE(decoder, int64_t{1222531});
    QCOMPARE(vae.downscale_factor(), int64_t{8});
  }

  void aDecoderFileAloneHasNoEncoder() {
    QTemporaryDir dir;
    const QString copy = dir.filePath("taesd_decoder.safetensors");
    QVERIFY(QFile::copy(test::data_path("fast/taesd-tiny-original/taesd_decoder.safetensors"), copy));
    const auto vae = pipeline::load_autoencoder(copy.toStdString(), {}, torch::kCPU, torch::kFloat32);
    QVERIFY(vae->is_tiny());
    QVERIFY(!vae->has_encoder);
  }

  void refusesWhatIsNoAutoencoder() {
    QVERIFY_THROWS_EXCEPTION(Error, pipeline::load_autoencoder(test::data_path("fast/no-such").toStdString(), {},
                                                               torch::kCPU, torch::kFloat32));
    // A LoRA file is a .safetensors file of other tensors.
    QVERIFY_THROWS_EXCEPTION(
        Error, pipeline::load_autoencoder(test::data_path("fast/lora/tiny-sd-lcm-lora-kohya.safetensors").toStdString(),
                                          {}, torch::kCPU, torch::kFloat32));
    // An encoder file alone cannot decode.
    QTemporaryDir dir;
    const QString copy = dir.filePath("taesd_encoder.safetensors");
    QVERIFY(QFile::copy(test::data_path("fast/taesd-tiny-original/taesd_encoder.safetensors"), copy));
    QVERIFY_THROWS_EXCEPTION(Error, pipeline::load_autoencoder(copy.toStdString(), {}, torch::kCPU, torch::kFloat32));
  }

  void loadsAFullVaeFolder() {
    const auto vae = pipeline::load_autoencoder(test::data_path("tiny-sd/vae").toStdString(), {}, torch::kCPU,
                                                torch::kFloat32);
    QVERIFY(!vae->is_tiny());
    QCOMPARE(vae->name, std::string("vae"));
  }
};

QTEST_GUILESS_MAIN(TestFastAutoencoderTiny)
#include "tst_fast_autoencoder_tiny.moc"
