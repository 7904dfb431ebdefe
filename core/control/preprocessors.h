#pragma once

// Control maps made from a picture with OpenCV, as the web UI's ControlNet extension makes
// them for the ControlNet 1.1 models (white lines on black for the edge models): none,
// canny, scribble (threshold), softedge, lineart, invert, tile, inpaint. Free of LibTorch:
// the GUI previews the maps, the command line writes them.

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace latent::control {

struct PreprocessorInfo {
  std::string name;
  std::string description;
  // The two parameters (the web UI's "Threshold A/B"): label, default, range; an empty label
  // when the preprocessor has no such parameter.
  std::string a_label;
  double a_default = 0, a_min = 0, a_max = 0;
  std::string b_label;
  double b_default = 0, b_min = 0, b_max = 0;
};

// Every preprocessor, "none" first.
const std::vector<PreprocessorInfo>& preprocessors();
// The named one; throws latent::Error listing the names for anything else.
const PreprocessorInfo& preprocessor_info(const std::string& name);

struct PreprocessSettings {
  std::string name = "none";
  double a = -1;  // a negative value: the preprocessor's default
  double b = -1;
};

// The map for an 8-bit RGB picture: 8-bit RGB (CV_8UC3) at the picture's size, except
// inpaint, which gives the masked-picture condition as CV_32FC3: x/255, and −1 where
// `mask` (one 8-bit channel at the picture's size, white = repaint) is above half. Throws
// latent::Error for an unknown name, a parameter out of range, or inpaint without a mask.
cv::Mat preprocess(const cv::Mat& rgb, const PreprocessSettings& settings,
                   const cv::Mat& mask = {});

// cv::Canny on the 3-channel picture as the web UI's canny module calls it (aperture 3, L1
// gradient, the strongest channel per pixel), as 0/255 in three channels.
cv::Mat canny_map(const cv::Mat& rgb, double low, double high);

// A map as a picture to look at or save: 8-bit maps as they are; the inpaint condition with
// its masked pixels black.
cv::Mat map_preview(const cv::Mat& map);

}  // namespace latent::control
