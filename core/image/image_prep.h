#pragma once

// Getting pictures and masks ready for image-to-image and inpainting, with OpenCV:
// loading any format, fitting to the working size (resize, crop to fill, fit with
// padding), mask threshold and feathering, "inpaint only the masked area at full
// resolution" (crop around the mask, paste back with a soft edge) and outpainting
// (a canvas extended by padding, its new area masked). Free of LibTorch.
//
// Images are cv::Mat CV_8UC3 in RGB order; masks are CV_8UC1, white (255) = repaint.

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>

#include "core/api/image.h"

namespace latent::image {

// --- Loading ---

// Pixel size of an image file read from its header alone (PNG, JPEG, BMP, GIF, WebP);
// {0, 0} when the format is not one of those or the header is damaged.
cv::Size probe_image_size(const std::string& path);

// Decodes an image file (anything OpenCV reads; EXIF orientation applied; alpha
// dropped as PIL's convert("RGB") does; 16-bit reduced to 8) into RGB. Throws
// latent::Error for a missing, unreadable or corrupt file, and, before decoding, for
// an image whose decoded pixels would take more than half of util::available_memory()
// (the message names the pixel size, the estimate and what limited the memory).
cv::Mat load_image_rgb(const std::string& path);

// Decodes a mask file to one 8-bit channel: grey files as they are, colour files by
// PIL's convert("L") luma (R·299 + G·587 + B·114)/1000. Throws as load_image_rgb.
cv::Mat load_mask(const std::string& path);

// RGB → luma exactly as PIL's convert("L") (fixed point, rounded).
cv::Mat rgb_to_luma(const cv::Mat& rgb);

// Conversions to and from the engine's plain Image (RGB, 3 bytes per pixel).
cv::Mat image_to_mat(const api::Image& image);
api::Image mat_to_image(const cv::Mat& rgb);

// Hex SHA-256 of the pixels (rows of RGB bytes after the width and height as two
// little-endian uint32), first 10 digits: the same picture gives the same hash whatever
// the file format.
std::string pixel_hash(const cv::Mat& image);

// --- Fitting to a size ---

// Pillow's Image.resize(size, Image.LANCZOS) on 8-bit images (1 or 3 channels),
// reproduced to the bit: separable Lanczos-3 with the support widened by the scale when
// shrinking, 22-bit fixed-point weights, horizontal pass first, uint8 between passes.
// Returns a copy when the size is unchanged.
cv::Mat resize_lanczos(const cv::Mat& image, int width, int height);

enum class ResizeMode {
  resize,  // stretch to the size (what diffusers does)
  crop,    // scale to cover the size keeping the aspect ratio, cut the overflow evenly
  pad,     // scale to fit inside keeping the aspect ratio, fill the rest by stretching the edges
};
// "resize", "crop", "pad"; throws latent::Error naming the valid modes for anything else.
ResizeMode parse_resize_mode(const std::string& name);
std::string resize_mode_name(ResizeMode mode);

// Where the picture lands inside a width×height frame for a mode: the rectangle of the
// frame it covers (pad) or the frame itself (resize, crop), and the scaled size.
struct Placement {
  cv::Size scaled;  // the source scaled to this size
  cv::Rect frame;   // the part of the scaled image that is kept, in scaled coordinates (crop)
  cv::Rect target;  // where it lands in the width×height output (pad)
};
Placement placement_for(cv::Size source, int width, int height, ResizeMode mode);

// An image fitted to exactly width×height.
cv::Mat fit_image(const cv::Mat& image, int width, int height, ResizeMode mode);
// A mask fitted like its image; the border that padding adds is white (to be painted).
cv::Mat fit_mask(const cv::Mat& mask, int width, int height, ResizeMode mode);

// The size diffusers' image-to-image uses for an image: each side rounded down to a
// multiple of 8 (at least 8).
cv::Size working_size_for(cv::Size image);

// --- Masks ---

// 0 below `threshold`, 255 from it on (diffusers binarises at 0.5: 127 → 0, 128 → 255).
cv::Mat threshold_mask(const cv::Mat& mask, int threshold = 128);
// Gaussian feathering of the mask's edge by `radius` pixels (sigma = radius, kernel
// 2·round(2.5·radius)+1, as the web UI does); 0 returns the mask unchanged.
cv::Mat blur_mask(const cv::Mat& mask, int radius);
// True when no pixel reaches `threshold`.
bool mask_is_empty(const cv::Mat& mask, int threshold = 128);

// --- Inpaint only the masked area ---

// The region to cut out for a full-resolution inpaint: the bounding box of the mask's
// non-zero pixels, grown by `padding` on every side, then grown along one axis to the
// aspect ratio of width×height where the image allows, and clipped to the image. The
// whole image when the mask is empty.
cv::Rect crop_region_for_mask(const cv::Mat& mask, int padding, int width, int height);

// `generated` resized (Lanczos) to region's size and laid over `original` at `region`,
// weighted by `soft_mask` (original's size, 0 = keep original, 255 = take generated).
// Pixels where the mask is 0 come back unchanged.
cv::Mat paste_back(const cv::Mat& original, const cv::Mat& generated, cv::Rect region,
                   const cv::Mat& soft_mask);

// --- Outpainting ---

struct Padding {
  int left = 0;
  int top = 0;
  int right = 0;
  int bottom = 0;
  bool empty() const { return left == 0 && top == 0 && right == 0 && bottom == 0; }
};

struct Canvas {
  cv::Mat image;  // the picture with its edge pixels stretched into the new area
  cv::Mat mask;   // white over the new area (and wherever `mask` was white)
};
// Extends the canvas by `padding` pixels per side. `mask` (optional, the image's size)
// is carried over. Throws latent::Error for negative padding.
Canvas extend_canvas(const cv::Mat& image, const Padding& padding, const cv::Mat& mask = {});

}  // namespace latent::image
