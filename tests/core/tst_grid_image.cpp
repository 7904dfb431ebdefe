// The labelled grid of an X/Y/Z plot: its size, where each picture lands (read back pixel
// by pixel), the title bands with and without a legend, and the Z layouts.
#include <QtTest/QtTest>

#include <algorithm>

#include "core/image/grid_image.h"
#include "core/util/error.h"

using namespace latent;

namespace {

struct Rgb {
  uint8_t r, g, b;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

api::Image solid(int width, int height, Rgb colour) {
  api::Image image;
  image.width = width;
  image.height = height;
  for (int i = 0; i < width * height; ++i) image.rgb.insert(image.rgb.end(), {colour.r, colour.g, colour.b});
  return image;
}

Rgb pixel(const api::Image& image, int x, int y) {
  const auto at = static_cast<std::size_t>((y * image.width + x) * 3);
  return {image.rgb[at], image.rgb[at + 1], image.rgb[at + 2]};
}

// A colour of its own for cell n.
Rgb colourOf(int n) { return {uint8_t(40 + 30 * n), uint8_t(200 - 25 * n), uint8_t(60 + 17 * n)}; }

std::vector<api::Image> cells(int count, int width, int height) {
  std::vector<api::Image> out;
  for (int n = 0; n < count; ++n) out.push_back(solid(width, height, colourOf(n)));
  return out;
}

// How many pixels of `box` are dark (drawn text on the white band).
int darkPixels(const api::Image& image, cv::Rect box) {
  int dark = 0;
  for (int y = box.y; y < box.y + box.height; ++y)
    for (int x = box.x; x < box.x + box.width; ++x) {
      const Rgb p = pixel(image, x, y);
      dark += (p.r + p.g + p.b) < 3 * 128;
    }
  return dark;
}

// Every pixel of the cell at `box` is `colour`.
bool cellIs(const api::Image& image, cv::Rect box, Rgb colour) {
  for (int y = box.y; y < box.y + box.height; ++y)
    for (int x = box.x; x < box.x + box.width; ++x)
      if (!(pixel(image, x, y) == colour)) return false;
  return true;
}

}  // namespace

class TestGridImage : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void withoutLegendTheCellsTileExactly() {
    const auto layout = image::grid_layout(3, 2, 64, 48, {}, {});
    QCOMPARE(layout.width, 192);
    QCOMPARE(layout.height, 96);
    QCOMPARE(layout.cell(2, 1), cv::Rect(128, 48, 64, 48));

    const api::Image grid = image::draw_grid(cells(6, 64, 48), 3, 2, {}, {});
    QCOMPARE(grid.width, 192);
    QCOMPARE(grid.height, 96);
    for (int n = 0; n < 6; ++n) QVERIFY2(cellIs(grid, layout.cell(n % 3, n / 3), colourOf(n)), qPrintable(QString::number(n)));
  }

  void smallerAndMissingPicturesInTheirCells() {
    std::vector<api::Image> pictures = cells(4, 64, 64);
    pictures[1] = solid(32, 16, {255, 0, 0});  // centred in its cell, black around it
    pictures[2] = api::Image{};                // failed: a black cell
    const api::Image grid = image::draw_grid(pictures, 2, 2, {}, {});
    QCOMPARE(grid.width, 128);
    QCOMPARE(grid.height, 128);
    QVERIFY(cellIs(grid, {64 + 16, 24, 32, 16}, {255, 0, 0}));
    QVERIFY(cellIs(grid, {64, 0, 64, 24}, {0, 0, 0}));
    QVERIFY(cellIs(grid, {0, 64, 64, 64}, {0, 0, 0}));
    QVERIFY(cellIs(grid, {64, 64, 64, 64}, colourOf(3)));
  }

  void legendBandsHoldTheTitles() {
    const std::vector<std::string> columns{"Steps: 10", "Steps: 20", "Steps: 30"};
    const std::vector<std::string> rows{"Euler", "LMS"};
    const auto layout = image::grid_layout(3, 2, 64, 64, columns, rows);
    QVERIFY(layout.left >= 64 * 3 / 4);
    QVERIFY(layout.top > 0);
    const api::Image grid = image::draw_grid(cells(6, 64, 64), 3, 2, columns, rows);
    QCOMPARE(grid.width, layout.left + 3 * 64);
    QCOMPARE(grid.height, layout.top + 2 * 64);
    // The pictures sit below and right of the bands, untouched by the text.
    for (int n = 0; n < 6; ++n) QVERIFY(cellIs(grid, layout.cell(n % 3, n / 3), colourOf(n)));
    QCOMPARE(layout.cell(0, 0), cv::Rect(layout.left, layout.top, 64, 64));
    // Each column's title is drawn above it, each row's at its left; the corner stays white.
    for (int c = 0; c < 3; ++c)
      QVERIFY(darkPixels(grid, {layout.left + c * 64, 0, 64, layout.top}) > 10);
    for (int r = 0; r < 2; ++r)
      QVERIFY(darkPixels(grid, {0, layout.top + r * 64, layout.left, 64}) > 10);
    QCOMPARE(darkPixels(grid, {0, 0, layout.left, layout.top}), 0);
  }

  void emptyTitlesTakeNoBand() {
    const auto layout = image::grid_layout(2, 1, 64, 64, {"a", "b"}, {""});
    QCOMPARE(layout.left, 0);
    QVERIFY(layout.top > 0);
  }

  void longTitlesWrapIntoMoreLines() {
    const auto one = image::grid_layout(1, 1, 64, 64, {"short"}, {});
    const auto wrapped = image::grid_layout(1, 1, 64, 64, {"a title much wider than its cell"}, {});
    QVERIFY(wrapped.top > one.top);
    // Characters the font lacks are drawn as '?', not refused.
    const api::Image grid = image::draw_grid(cells(1, 64, 64), 1, 1, {"caf\xc3\xa9 \xe2\x98\x95"}, {});
    QCOMPARE(grid.width, 64);
  }

  void zGridsSideBySideOrApart() {
    const std::vector<api::Image> pictures = cells(4, 32, 32);  // 2 x 1 x 2
    const auto plain = image::xyz_grids(pictures, {}, {}, {}, 2, 1, 2, image::ZLayout::side_by_side);
    QCOMPARE(int(plain.size()), 1);
    QCOMPARE(plain[0].width, 128);
    QCOMPARE(plain[0].height, 32);
    // Z value 1's cells follow Z value 0's.
    QVERIFY(cellIs(plain[0], {64, 0, 32, 32}, colourOf(2)));
    QVERIFY(cellIs(plain[0], {96, 0, 32, 32}, colourOf(3)));

    const std::vector<std::string> xs{"Seed: 1", "Seed: 2"}, ys{""}, zs{"Euler", "LMS"};
    const auto titled = image::xyz_grids(pictures, xs, ys, zs, 2, 1, 2, image::ZLayout::side_by_side);
    const auto sub = image::grid_layout(2, 1, 32, 32, xs, ys);
    const auto outer = image::grid_layout(2, 1, sub.width, sub.height, zs, {});
    QCOMPARE(titled[0].width, outer.width);
    QCOMPARE(titled[0].height, outer.height);
    QVERIFY(outer.top > 0);
    QVERIFY(cellIs(titled[0], {outer.left + sub.width + sub.left + 32, outer.top + sub.top, 32, 32}, colourOf(3)));

    const auto apart = image::xyz_grids(pictures, {}, {}, {}, 2, 1, 2, image::ZLayout::separate);
    QCOMPARE(int(apart.size()), 2);
    QCOMPARE(apart[1].width, 64);
    QVERIFY(cellIs(apart[1], {0, 0, 32, 32}, colourOf(2)));
  }

  void mismatchedCountsAreRefused() {
    QVERIFY_THROWS_EXCEPTION(Error, image::draw_grid(cells(5, 8, 8), 3, 2, {}, {}));
    QVERIFY_THROWS_EXCEPTION(Error, image::draw_grid(cells(6, 8, 8), 3, 2, {"a", "b"}, {}));
    QVERIFY_THROWS_EXCEPTION(Error, image::xyz_grids(cells(4, 8, 8), {}, {}, {}, 2, 2, 2, image::ZLayout::separate));
    QVERIFY_THROWS_EXCEPTION(Error, image::draw_grid(std::vector<api::Image>(2), 2, 1, {}, {}));
  }
};

QTEST_GUILESS_MAIN(TestGridImage)
#include "tst_grid_image.moc"
