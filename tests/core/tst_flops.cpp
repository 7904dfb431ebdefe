#include <QtTest/QtTest>

#include "core/pipeline/flops.h"

using namespace latent;

class TestFlops : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void sd15MatchesPublishedCounts();
  void scalesWithBatchAndSize();
  void oddLatentSizes();
};

// The SD 1.5 figures of shared/PERFORMANCE.md (counted independently, by hooks on the
// PyTorch modules): UNet 803 GFLOP per 64×64 latent (3×3 convolutions 50%, linear 29%,
// attention 15%, 1×1 convolutions 5%), VAE decoder 2.51 TFLOP, encoder 1.12 TFLOP at
// 512×512, CLIP 13 GFLOP.
void TestFlops::sd15MatchesPublishedCounts() {
  const models::UNet2DConditionConfig unet;  // defaults are SD 1.5
  const models::AutoencoderKLConfig vae;
  const models::CLIPTextConfig clip;
  const auto u = pipeline::unet_flops(unet, 1, 64, 64);
  qInfo("UNet 64x64: %.1f GFLOP (conv3x3 %.1f%%, linear %.1f%%, attention %.1f%%, conv1x1 %.1f%%)",
        u.total() / 1e9, 100 * u.conv3x3 / u.total(), 100 * u.linear / u.total(),
        100 * u.attention / u.total(), 100 * u.conv1x1 / u.total());
  QVERIFY(std::abs(u.total() / 803e9 - 1) < 0.01);
  QVERIFY(std::abs(u.conv3x3 / u.total() - 0.50) < 0.015);
  QVERIFY(std::abs(u.linear / u.total() - 0.29) < 0.015);
  QVERIFY(std::abs(u.attention / u.total() - 0.15) < 0.015);
  const auto d = pipeline::vae_decoder_flops(vae, 1, 64, 64);
  const auto e = pipeline::vae_encoder_flops(vae, 1, 512, 512);
  const auto c = pipeline::text_encoder_flops(clip, 1, 77);
  qInfo("VAE decoder %.3f TFLOP, encoder %.3f TFLOP, CLIP %.1f GFLOP", d.total() / 1e12,
        e.total() / 1e12, c.total() / 1e9);
  QVERIFY(std::abs(d.total() / 2.51e12 - 1) < 0.01);
  QVERIFY(std::abs(e.total() / 1.12e12 - 1) < 0.01);
  QVERIFY(std::abs(c.total() / 13e9 - 1) < 0.03);
}

void TestFlops::scalesWithBatchAndSize() {
  const models::UNet2DConditionConfig unet;
  const auto one = pipeline::unet_flops(unet, 1, 64, 64);
  const auto two = pipeline::unet_flops(unet, 2, 64, 64);
  QVERIFY(std::abs(two.total() / one.total() - 2) < 1e-9);
  // Convolutions grow with the area, self-attention with its square.
  const auto big = pipeline::unet_flops(unet, 1, 128, 128);
  QVERIFY(std::abs(big.conv3x3 / one.conv3x3 - 4) < 1e-6);
  QVERIFY(big.attention / one.attention > 10);
}

void TestFlops::oddLatentSizes() {
  const models::UNet2DConditionConfig unet;
  // 6×5 latents as in the golden cases: positive and smaller than 8×8.
  const auto odd = pipeline::unet_flops(unet, 1, 6, 5);
  const auto even = pipeline::unet_flops(unet, 1, 8, 8);
  QVERIFY(odd.total() > 0);
  QVERIFY(odd.total() < even.total());
}

QTEST_GUILESS_MAIN(TestFlops)
#include "tst_flops.moc"
