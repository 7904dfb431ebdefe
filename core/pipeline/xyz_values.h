#pragma once

// The value lists of an X/Y/Z plot's axes, written as the web UI's X/Y/Z plot script reads
// them: items separated by commas, in double quotes where an item holds a comma
// (`"red, blue", green`), and for number axes ranges that stand for many values:
//   1-5          every whole number from 1 to 5 (5-1 counts down)
//   1-10 (+3)    from 1 in steps of 3 while within 10: 1, 4, 7, 10
//   1-10 [4]     4 values evenly spread from 1 to 10 (whole-number axes cut the fraction)
// Reference: AUTOMATIC1111 stable-diffusion-webui scripts/xyz_grid.py (re_range, re_range_count).
// Free of LibTorch and of files: any text either gives values or latent::Error naming the item.

#include <cstdint>
#include <string>
#include <vector>

namespace latent::pipeline {

// No axis gives more values than this (a typo like 1-100000 would queue a day of work).
constexpr int kMaxAxisValues = 1000;

// The items of `text`: split at commas outside double quotes, each trimmed, quotes removed
// ("" inside quotes is one quote). Empty items are dropped. Throws latent::Error for an
// unclosed quote.
std::vector<std::string> split_axis_values(const std::string& text);

// Whole numbers, each item a number or a range. Throws latent::Error naming the item that
// is neither, a step of 0 or one that leads away from the end, a count below 1, and lists
// longer than kMaxAxisValues.
std::vector<int64_t> whole_number_values(const std::string& text);

// The same for numbers with fractions; values are rounded to 8 decimals, as the web UI
// rounds them, so that 0.1-0.3 (+0.1) gives 0.3 and not 0.30000000000000004.
std::vector<double> number_values(const std::string& text);

// A number as the legend and the metadata write it: "7.5", "20", "0.3".
std::string format_axis_number(double value);

}  // namespace latent::pipeline
