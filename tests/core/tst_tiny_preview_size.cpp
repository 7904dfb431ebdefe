// How large the tiny autoencoder's live previews are: a fixed first size, then the largest
// size on the ladder of area halvings that costs at most 3% of a step at the measured rate,
// never under 128 pixels on the long side, and steady under timing noise.
#include <QtTest/QtTest>

#include "core/pipeline/tiny_preview_size.h"

using latent::pipeline::TinyPreviewSize;

namespace {

// What a 512×512 TAESD decode costs on a two-core CPU: 0.2 s for 262,144 pixels.
constexpr double kSecondsPerPixel = 0.2 / (512.0 * 512.0);

TinyPreviewSize timed() {
  TinyPreviewSize size;
  size.decoded(512 * 512, 0.2);
  return size;
}

}  // namespace

class TestTinyPreviewSize : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void firstPreviewFitsTheFirstSize() {
    const TinyPreviewSize size;
    const auto square = size.latent_size(64, 64, 1.4);  // 512×512
    QCOMPARE(square.height, 32);                        // 256 pixels
    QCOMPARE(square.width, 32);
    const auto wide = size.latent_size(96, 128, 20);  // 1024×768
    QCOMPARE(wide.width, 32);
    QCOMPARE(wide.height, 24);
    const auto small = size.latent_size(16, 24, 0.1);  // 192×128: already under it
    QCOMPARE(small.height, 16);
    QCOMPARE(small.width, 24);
  }

  // An unguided 512×512 step of 1.4 s affords 3% · 1.4 / rate ≈ 63,000 pixels, 24% of the
  // picture: the ladder's 1/8 of the area (scale 1/√8 ≈ 0.354) is the largest below that.
  void fastStepsGetSmallerPreviews() {
    const auto size = timed();
    QVERIFY(qAbs(size.seconds_per_pixel() - kSecondsPerPixel) < 1e-15);
    const auto preview = size.latent_size(64, 64, 1.4);
    QCOMPARE(preview.height, 23);
    QCOMPARE(preview.width, 23);
    const double seconds = preview.height * preview.width * 64.0 * kSecondsPerPixel;
    QVERIFY2(seconds <= 0.03 * 1.4, qPrintable(QString::number(seconds)));
  }

  // SDXL at 1024×1024 with 20-second steps affords 75% of its 1,048,576 pixels: half the area.
  void slowStepsGetLargerPreviews() {
    const auto size = timed();
    const auto preview = size.latent_size(128, 128, 20);
    QCOMPARE(preview.height, 91);
    QCOMPARE(preview.width, 91);
    const auto full = size.latent_size(64, 64, 60);  // a step slow enough for the whole picture
    QCOMPARE(full.height, 64);
    QCOMPARE(full.width, 64);
  }

  void neverSmallerThanTheSmallestSide() {
    const auto size = timed();
    const auto preview = size.latent_size(64, 96, 0.01);
    QCOMPARE(preview.width, 16);  // 128 pixels
    QCOMPARE(preview.height, 11);
  }

  // Timing noise within the ladder's steps keeps the size; one slow decode does not
  // halve it.
  void steadyUnderNoise() {
    auto size = timed();
    const auto before = size.latent_size(64, 64, 1.4);
    size.decoded(23 * 23 * 64, 0.2 * 23 * 23 / (64.0 * 64.0) * 1.1);
    const auto after = size.latent_size(64, 64, 1.45);
    QCOMPARE(after.height, before.height);
    size.decoded(23 * 23 * 64, 0.2 * 23 * 23 / (64.0 * 64.0) * 2.0);
    const auto spike = size.latent_size(64, 64, 1.4);
    QVERIFY(spike.height >= 16);
    QVERIFY(size.seconds_per_pixel() < 2.0 * kSecondsPerPixel);
  }
};

QTEST_GUILESS_MAIN(TestTinyPreviewSize)
#include "tst_tiny_preview_size.moc"
