#include "core/image/grid_image.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

#include "core/image/image_prep.h"
#include "core/util/error.h"

namespace latent::image {
namespace {

constexpr int kFace = cv::FONT_HERSHEY_SIMPLEX;
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kBlack(0, 0, 0);

// The legend's font for cells of this size.
struct Font {
  double scale = 1;
  int thickness = 1;
  int ascent = 0;   // pixels above the baseline
  int line = 0;     // a line's height
  int spacing = 0;  // between lines, and around the titles

  explicit Font(cv::Size cell) {
    const int pixels = std::max(12, (cell.width + cell.height) / 25);
    int descent = 0;
    const cv::Size unit = cv::getTextSize("Ag", kFace, 1.0, 1, &descent);
    scale = static_cast<double>(pixels) / (unit.height + descent);
    thickness = std::max(1, static_cast<int>(std::lround(pixels / 16.0)));
    ascent = static_cast<int>(std::lround(unit.height * scale));
    line = pixels;
    spacing = pixels / 2;
  }
  int width(const std::string& text) const {
    int baseline = 0;
    return cv::getTextSize(text, kFace, scale, thickness, &baseline).width;
  }
  int block_height(std::size_t lines) const {
    return lines == 0 ? 0 : static_cast<int>(lines) * line + static_cast<int>(lines - 1) * spacing;
  }
};

// The Hershey font draws ASCII only: each other UTF-8 character becomes one '?'.
std::string drawable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20) out += ' ';
    else if (byte < 0x80) out += c;
    else if (byte >= 0xC0) out += '?';  // a character's first byte; the rest are skipped
  }
  return out;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : drawable(text) + " ") {
    if (c != ' ') {
      word += c;
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  return words;
}

// Words on lines no wider than `width`, as the web UI wraps them; a longer word has a line
// of its own.
std::vector<std::string> wrapped(const std::string& text, int width, const Font& font) {
  std::vector<std::string> lines;
  for (const std::string& word : words_of(text)) {
    if (!lines.empty() && font.width(lines.back() + " " + word) <= width) lines.back() += " " + word;
    else lines.push_back(word);
  }
  return lines;
}

bool any_text(const std::vector<std::string>& titles) {
  return std::any_of(titles.begin(), titles.end(), [](const std::string& t) { return !words_of(t).empty(); });
}

int widest_word(const std::vector<std::string>& titles, const Font& font) {
  int widest = 0;
  for (const std::string& title : titles)
    for (const std::string& word : words_of(title)) widest = std::max(widest, font.width(word));
  return widest;
}

// The row titles wrap within the band, less a margin on each side.
int row_text_width(const GridLayout& layout, const Font& font) { return layout.left - 2 * font.spacing; }

// Lines centred on `centre`, the block of them centred on `middle`.
void draw_lines(cv::Mat& canvas, const std::vector<std::string>& lines, int centre, int middle, const Font& font) {
  int top = middle - font.block_height(lines.size()) / 2;
  for (const std::string& line : lines) {
    const cv::Point origin(centre - font.width(line) / 2, top + font.ascent);
    cv::putText(canvas, line, origin, kFace, font.scale, kBlack, font.thickness, cv::LINE_AA);
    top += font.line + font.spacing;
  }
}

void check_titles(const std::vector<std::string>& titles, int count, const char* what) {
  if (!titles.empty() && static_cast<int>(titles.size()) != count)
    throw Error("the grid has " + std::to_string(count) + " " + what + " but " + std::to_string(titles.size()) +
                " titles for them");
}

api::Image draw_grid_of_size(const std::vector<api::Image>& cells, int columns, int rows, cv::Size cell,
                             const std::vector<std::string>& column_titles, const std::vector<std::string>& row_titles) {
  if (columns < 1 || rows < 1 || static_cast<int>(cells.size()) != columns * rows)
    throw Error("a grid of " + std::to_string(columns) + "x" + std::to_string(rows) + " cells cannot hold " +
                std::to_string(cells.size()) + " pictures");
  check_titles(column_titles, columns, "columns");
  check_titles(row_titles, rows, "rows");
  const GridLayout layout = grid_layout(columns, rows, cell.width, cell.height, column_titles, row_titles);
  cv::Mat canvas(layout.height, layout.width, CV_8UC3, kWhite);
  for (int row = 0; row < rows; ++row) {
    for (int column = 0; column < columns; ++column) {
      const cv::Rect box = layout.cell(column, row);
      canvas(box).setTo(kBlack);
      const api::Image& picture = cells[static_cast<std::size_t>(row * columns + column)];
      if (picture.empty()) continue;
      const cv::Mat pixels = image_to_mat(picture);
      const cv::Rect at(box.x + (box.width - pixels.cols) / 2, box.y + (box.height - pixels.rows) / 2, pixels.cols,
                        pixels.rows);
      pixels.copyTo(canvas(at));
    }
  }
  const Font font(cell);
  if (layout.top > 0)
    for (int column = 0; column < columns; ++column)
      draw_lines(canvas, wrapped(column_titles[static_cast<std::size_t>(column)], cell.width, font),
                 layout.left + column * cell.width + cell.width / 2, layout.top / 2, font);
  if (layout.left > 0)
    for (int row = 0; row < rows; ++row)
      draw_lines(canvas, wrapped(row_titles[static_cast<std::size_t>(row)], row_text_width(layout, font), font),
                 layout.left / 2, layout.top + row * cell.height + cell.height / 2, font);
  return mat_to_image(canvas);
}

// The size every cell takes: that of the largest picture.
cv::Size cell_size_of(const std::vector<api::Image>& cells) {
  cv::Size size(0, 0);
  for (const api::Image& picture : cells) {
    size.width = std::max(size.width, picture.width);
    size.height = std::max(size.height, picture.height);
  }
  if (size.width == 0 || size.height == 0) throw Error("none of the grid's pictures was made");
  return size;
}

}  // namespace

GridLayout grid_layout(int columns, int rows, int cell_width, int cell_height,
                       const std::vector<std::string>& column_titles, const std::vector<std::string>& row_titles) {
  GridLayout layout;
  layout.columns = columns;
  layout.rows = rows;
  layout.cell_width = cell_width;
  layout.cell_height = cell_height;
  const Font font(cv::Size(cell_width, cell_height));
  if (any_text(row_titles))
    layout.left = std::max(cell_width * 3 / 4, widest_word(row_titles, font) + 2 * font.spacing);
  if (any_text(column_titles)) {
    std::size_t lines = 0;
    for (const std::string& title : column_titles) lines = std::max(lines, wrapped(title, cell_width, font).size());
    layout.top = font.block_height(lines) + 2 * font.spacing;
  }
  layout.width = layout.left + columns * cell_width;
  layout.height = layout.top + rows * cell_height;
  return layout;
}

api::Image draw_grid(const std::vector<api::Image>& cells, int columns, int rows,
                     const std::vector<std::string>& column_titles, const std::vector<std::string>& row_titles) {
  return draw_grid_of_size(cells, columns, rows, cell_size_of(cells), column_titles, row_titles);
}

std::vector<api::Image> xyz_grids(const std::vector<api::Image>& cells, const std::vector<std::string>& x_titles,
                                  const std::vector<std::string>& y_titles, const std::vector<std::string>& z_titles,
                                  int x_count, int y_count, int z_count, ZLayout layout) {
  if (x_count < 1 || y_count < 1 || z_count < 1 || static_cast<int>(cells.size()) != x_count * y_count * z_count)
    throw Error("an X/Y/Z plot of " + std::to_string(x_count) + "x" + std::to_string(y_count) + "x" +
                std::to_string(z_count) + " cannot hold " + std::to_string(cells.size()) + " pictures");
  check_titles(z_titles, z_count, "Z values");
  // One cell size for all Z values, so that their grids line up.
  const cv::Size cell = cell_size_of(cells);
  const auto per_z = static_cast<std::ptrdiff_t>(x_count) * y_count;
  std::vector<api::Image> grids;
  for (int z = 0; z < z_count; ++z) {
    const std::vector<api::Image> part(cells.begin() + z * per_z, cells.begin() + (z + 1) * per_z);
    grids.push_back(draw_grid_of_size(part, x_count, y_count, cell, x_titles, y_titles));
  }
  const cv::Size grid(grids.front().width, grids.front().height);
  if (layout == ZLayout::separate) {
    if (z_titles.empty()) return grids;
    std::vector<api::Image> titled;
    for (int z = 0; z < z_count; ++z)
      titled.push_back(draw_grid_of_size({grids[static_cast<std::size_t>(z)]}, 1, 1, grid,
                                         {z_titles[static_cast<std::size_t>(z)]}, {}));
    return titled;
  }
  if (z_count == 1) return grids;
  return {draw_grid_of_size(grids, z_count, 1, grid, z_titles, {})};
}

}  // namespace latent::image
