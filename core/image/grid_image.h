#pragma once

// Pictures side by side in a labelled grid, as the web UI's X/Y/Z plot draws them: cells in
// rows, each column's title above it and each row's at its left, in black on white, wrapped
// to fit; a cell without a picture (its generation failed) stays black. The font grows with
// the cells, as the web UI's does ((width + height) / 25 pixels), but never below 12 pixels.
// Reference: AUTOMATIC1111 stable-diffusion-webui modules/images.py (image_grid,
// draw_grid_annotations). Drawn with OpenCV's Hershey font, which has ASCII only: other
// characters show as '?'.

#include <opencv2/core.hpp>

#include <string>
#include <vector>

#include "core/api/image.h"

namespace latent::image {

// Where a grid's parts land: the title bands (0 wide or high without titles) and the cells.
struct GridLayout {
  int columns = 0;
  int rows = 0;
  int cell_width = 0;
  int cell_height = 0;
  int left = 0;  // the band of row titles
  int top = 0;   // the band of column titles
  int width = 0;
  int height = 0;

  cv::Rect cell(int column, int row) const {
    return {left + column * cell_width, top + row * cell_height, cell_width, cell_height};
  }
};

// The layout of `columns` x `rows` cells with these titles; titles that are all empty (or
// absent) take no band.
GridLayout grid_layout(int columns, int rows, int cell_width, int cell_height,
                       const std::vector<std::string>& column_titles, const std::vector<std::string>& row_titles);

// `cells` row by row (column fastest), each placed in the middle of its cell, the cell as
// large as the largest picture; an empty picture leaves its cell black. Titles as
// grid_layout takes them. Throws latent::Error when the counts do not match.
api::Image draw_grid(const std::vector<api::Image>& cells, int columns, int rows,
                     const std::vector<std::string>& column_titles, const std::vector<std::string>& row_titles);

// How an X/Y/Z plot with several Z values is laid out.
enum class ZLayout {
  side_by_side,  // one picture: the grid of each Z value beside the next, titled above
  separate,      // one picture per Z value, each titled
};

// The grids of an X/Y/Z plot: `cells` in grid order (X fastest, then Y, then Z), one per
// combination, with the legend's texts of each axis (empty: no legend). Gives one picture,
// or with ZLayout::separate one per Z value.
std::vector<api::Image> xyz_grids(const std::vector<api::Image>& cells, const std::vector<std::string>& x_titles,
                                  const std::vector<std::string>& y_titles, const std::vector<std::string>& z_titles,
                                  int x_count, int y_count, int z_count, ZLayout layout);

}  // namespace latent::image
