#include "core/image/image_prep.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "core/util/byte_format.h"
#include "core/util/error.h"
#include "core/util/system_memory.h"

namespace latent::image {
namespace {

std::vector<unsigned char> read_head(const std::string& path, std::size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::vector<unsigned char> head(bytes);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(bytes));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(0, in.gcount())));
  return head;
}

uint32_t be16(const unsigned char* p) { return (uint32_t(p[0]) << 8) | p[1]; }
uint32_t be32(const unsigned char* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const unsigned char* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8); }
uint32_t le32(const unsigned char* p) { return le16(p) | (le16(p + 2) << 16); }

// JPEG: walk the markers up to the first start-of-frame.
cv::Size jpeg_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char two[2];
  if (!in.read(reinterpret_cast<char*>(two), 2) || two[0] != 0xFF || two[1] != 0xD8) return {};
  for (int guard = 0; guard < 1000; ++guard) {
    int byte = in.get();
    while (byte != EOF && byte != 0xFF) byte = in.get();
    while (byte == 0xFF) byte = in.get();
    if (byte == EOF) return {};
    const int marker = byte;
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
    unsigned char len[2];
    if (!in.read(reinterpret_cast<char*>(len), 2)) return {};
    const uint32_t length = be16(len);
    if (length < 2) return {};
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      unsigned char frame[5];
      if (!in.read(reinterpret_cast<char*>(frame), 5)) return {};
      return {static_cast<int>(be16(frame + 3)), static_cast<int>(be16(frame + 1))};
    }
    in.seekg(length - 2, std::ios::cur);
  }
  return {};
}

void check_file(const std::string& path, const char* what) {
  const QFileInfo info(QString::fromStdString(path));
  if (path.empty()) throw Error(std::string("no ") + what + " file was given");
  if (!info.exists()) throw Error("the " + std::string(what) + " file '" + path + "' does not exist");
  if (!info.isFile()) throw Error("'" + path + "' is not a file");
  if (!info.isReadable()) throw Error("the " + std::string(what) + " file '" + path + "' cannot be read");
}

// Refuses up front an image whose decoded pixels would not fit in the free memory, as
// util::available_memory() counts it (so a container's limit and LATENT_MEMORY_LIMIT_MB apply).
void check_decode_memory(const std::string& path, const char* what) {
  const cv::Size size = probe_image_size(path);
  if (size.width <= 0 || size.height <= 0) return;
  // OpenCV decodes up to 4 channels, then we keep a 3-channel copy (and 16-bit files double that).
  // In double: a header may claim sides up to 2^31, whose product times 8 overflows int64.
  const double estimate = static_cast<double>(size.width) * size.height * 8.0;
  const util::AvailableMemory available = util::available_memory();
  if (available.bytes < 0) return;  // unknown: let OpenCV try
  // Half of it at most: the picture is only the start; the model and its activations need the rest.
  if (estimate > static_cast<double>(available.bytes) / 2)
    throw Error("the " + std::string(what) + " '" + path + "' is " + std::to_string(size.width) +
                "x" + std::to_string(size.height) + " pixels: decoding it needs about " +
                util::format_bytes(static_cast<int64_t>(std::min(estimate, 0x1p62))) +  // fits int64
                ", more than half of the " + util::format_bytes(available.bytes) +
                " of memory available (" + available.source + "). Scale it down first.");
}

cv::Mat decode(const std::string& path, int flags, const char* what) {
  check_file(path, what);
  check_decode_memory(path, what);
  cv::Mat mat;
  try {
    mat = cv::imread(path, flags);
  } catch (const cv::Exception& e) {
    throw Error("the " + std::string(what) + " '" + path + "' could not be decoded: " + e.what());
  }
  if (mat.empty())
    throw Error("the " + std::string(what) + " '" + path +
                "' could not be read: it is not an image in a format OpenCV knows, or it is damaged");
  return mat;
}

cv::Mat to_8bit(const cv::Mat& mat) {
  if (mat.depth() == CV_8U) return mat;
  cv::Mat out;
  if (mat.depth() == CV_16U) mat.convertTo(out, CV_8U, 1.0 / 257.0);
  else if (mat.depth() == CV_32F || mat.depth() == CV_64F) mat.convertTo(out, CV_8U, 255.0);
  else mat.convertTo(out, CV_8U);
  return out;
}

// --- Pillow-compatible Lanczos ---

constexpr int kPrecisionBits = 32 - 8 - 2;

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}

double lanczos3(double x) { return (x >= -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

// Per output index: the first input index, the tap count and the fixed-point weights.
struct Taps {
  int ksize = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;  // [out, ksize]
};

Taps lanczos_taps(int in_size, int out_size) {
  Taps taps;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(1.0, scale);
  const double support = 3.0 * filter_scale;
  taps.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(static_cast<std::size_t>(out_size));
  taps.count.resize(static_cast<std::size_t>(out_size));
  taps.weights.assign(static_cast<std::size_t>(out_size) * taps.ksize, 0);
  const double inverse_scale = 1.0 / filter_scale;
  std::vector<double> w(static_cast<std::size_t>(taps.ksize));
  for (int o = 0; o < out_size; ++o) {
    const double center = (o + 0.5) * scale;
    const int lo = std::max(0, static_cast<int>(center - support + 0.5));
    const int hi = std::min(in_size, static_cast<int>(center + support + 0.5));
    const int n = hi - lo;
    double total = 0.0;
    for (int k = 0; k < n; ++k) {
      w[static_cast<std::size_t>(k)] = lanczos3((k + lo - center + 0.5) * inverse_scale);
      total += w[static_cast<std::size_t>(k)];
    }
    for (int k = 0; k < n; ++k) {
      double v = w[static_cast<std::size_t>(k)];
      if (total != 0.0) v /= total;
      const double fixed = v * (1 << kPrecisionBits);
      taps.weights[static_cast<std::size_t>(o) * taps.ksize + k] =
          static_cast<int32_t>(v < 0 ? fixed - 0.5 : fixed + 0.5);
    }
    taps.first[static_cast<std::size_t>(o)] = lo;
    taps.count[static_cast<std::size_t>(o)] = n;
  }
  return taps;
}

uint8_t clip8(int32_t v) {
  const int32_t shifted = v >> kPrecisionBits;  // arithmetic: floors negatives
  return static_cast<uint8_t>(std::clamp(shifted, 0, 255));
}

// One pass along x (horizontal) or y, channels interleaved.
cv::Mat resample_pass(const cv::Mat& in, int out_size, bool horizontal) {
  const int channels = in.channels();
  const int in_size = horizontal ? in.cols : in.rows;
  const Taps taps = lanczos_taps(in_size, out_size);
  cv::Mat out(horizontal ? in.rows : out_size, horizontal ? out_size : in.cols, in.type());
  const int32_t half = 1 << (kPrecisionBits - 1);
  for (int y = 0; y < out.rows; ++y) {
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int x = 0; x < out.cols; ++x) {
      const int o = horizontal ? x : y;
      const int32_t* k = &taps.weights[static_cast<std::size_t>(o) * taps.ksize];
      const int lo = taps.first[static_cast<std::size_t>(o)];
      const int n = taps.count[static_cast<std::size_t>(o)];
      for (int c = 0; c < channels; ++c) {
        int32_t sum = half;
        for (int t = 0; t < n; ++t) {
          const uint8_t v = horizontal ? in.ptr<uint8_t>(y)[(lo + t) * channels + c]
                                       : in.ptr<uint8_t>(lo + t)[x * channels + c];
          sum += static_cast<int32_t>(v) * k[t];
        }
        dst[x * channels + c] = clip8(sum);
      }
    }
  }
  return out;
}

void require_8bit(const cv::Mat& m, const char* what) {
  if (m.empty()) throw Error(std::string(what) + " is empty");
  if (m.depth() != CV_8U) throw Error(std::string(what) + " must have 8-bit channels");
}

}  // namespace

// --- Loading ---

cv::Size probe_image_size(const std::string& path) {
  const auto h = read_head(path, 32);
  if (h.size() >= 24 && h[0] == 0x89 && h[1] == 'P' && h[2] == 'N' && h[3] == 'G') {
    if (!std::equal(h.begin() + 12, h.begin() + 16, "IHDR")) return {};
    const uint32_t width = be32(&h[16]);
    const uint32_t height = be32(&h[20]);
    if (width == 0 || height == 0 || width > 0x7FFFFFFFu || height > 0x7FFFFFFFu) return {};
    return {static_cast<int>(width), static_cast<int>(height)};
  }
  if (h.size() >= 2 && h[0] == 0xFF && h[1] == 0xD8) return jpeg_size(path);
  if (h.size() >= 26 && h[0] == 'B' && h[1] == 'M')
    return {static_cast<int>(le32(&h[18])), std::abs(static_cast<int32_t>(le32(&h[22])))};
  if (h.size() >= 10 && h[0] == 'G' && h[1] == 'I' && h[2] == 'F')
    return {static_cast<int>(le16(&h[6])), static_cast<int>(le16(&h[8]))};
  if (h.size() >= 30 && std::equal(h.begin(), h.begin() + 4, "RIFF") &&
      std::equal(h.begin() + 8, h.begin() + 12, "WEBP")) {
    if (std::equal(h.begin() + 12, h.begin() + 16, "VP8X"))
      return {static_cast<int>(1 + (h[24] | (h[25] << 8) | (h[26] << 16))),
              static_cast<int>(1 + (h[27] | (h[28] << 8) | (h[29] << 16)))};
    if (std::equal(h.begin() + 12, h.begin() + 16, "VP8 "))
      return {static_cast<int>(le16(&h[26]) & 0x3FFF), static_cast<int>(le16(&h[28]) & 0x3FFF)};
    if (std::equal(h.begin() + 12, h.begin() + 16, "VP8L")) {
      const uint32_t bits = le32(&h[21]);
      return {static_cast<int>((bits & 0x3FFF) + 1), static_cast<int>(((bits >> 14) & 0x3FFF) + 1)};
    }
  }
  return {};
}

cv::Mat load_image_rgb(const std::string& path) {
  const cv::Mat mat = to_8bit(decode(path, cv::IMREAD_COLOR, "image"));
  cv::Mat rgb;
  cv::cvtColor(mat, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat load_mask(const std::string& path) {
  const cv::Mat mat = to_8bit(decode(path, cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH, "mask"));
  if (mat.channels() == 1) return mat;
  cv::Mat bgr;
  if (mat.channels() == 4) cv::cvtColor(mat, bgr, cv::COLOR_BGRA2BGR);
  else if (mat.channels() == 3) bgr = mat;
  else throw Error("the mask '" + path + "' has " + std::to_string(mat.channels()) + " channels; expected 1, 3 or 4");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb_to_luma(rgb);
}

cv::Mat rgb_to_luma(const cv::Mat& rgb) {
  require_8bit(rgb, "the image");
  if (rgb.channels() == 1) return rgb.clone();
  if (rgb.channels() != 3) throw Error("expected an RGB image");
  cv::Mat out(rgb.size(), CV_8UC1);
  for (int y = 0; y < rgb.rows; ++y) {
    const uint8_t* s = rgb.ptr<uint8_t>(y);
    uint8_t* d = out.ptr<uint8_t>(y);
    for (int x = 0; x < rgb.cols; ++x, s += 3)  // PIL's L24 weights: 0.299, 0.587, 0.114 in 16.16
      d[x] = static_cast<uint8_t>((s[0] * 19595u + s[1] * 38470u + s[2] * 7471u + 0x8000u) >> 16);
  }
  return out;
}

cv::Mat image_to_mat(const api::Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw Error("the image data is not " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " RGB pixels");
  cv::Mat wrapped(image.height, image.width, CV_8UC3, const_cast<uint8_t*>(image.rgb.data()));
  return wrapped.clone();
}

api::Image mat_to_image(const cv::Mat& rgb) {
  require_8bit(rgb, "the image");
  if (rgb.channels() != 3) throw Error("expected an RGB image");
  api::Image image;
  image.width = rgb.cols;
  image.height = rgb.rows;
  image.rgb.resize(static_cast<std::size_t>(rgb.total()) * 3);
  const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
  std::copy(continuous.data, continuous.data + image.rgb.size(), image.rgb.begin());
  return image;
}

std::string pixel_hash(const cv::Mat& image) {
  QCryptographicHash hash(QCryptographicHash::Sha256);
  const std::array<unsigned char, 8> size = {
      static_cast<unsigned char>(image.cols), static_cast<unsigned char>(image.cols >> 8),
      static_cast<unsigned char>(image.cols >> 16), static_cast<unsigned char>(image.cols >> 24),
      static_cast<unsigned char>(image.rows), static_cast<unsigned char>(image.rows >> 8),
      static_cast<unsigned char>(image.rows >> 16), static_cast<unsigned char>(image.rows >> 24)};
  hash.addData(QByteArrayView(reinterpret_cast<const char*>(size.data()), 8));
  const std::size_t row_bytes = static_cast<std::size_t>(image.cols) * image.elemSize();
  for (int y = 0; y < image.rows; ++y)
    hash.addData(QByteArrayView(reinterpret_cast<const char*>(image.ptr(y)), static_cast<qsizetype>(row_bytes)));
  return hash.result().toHex().left(10).toStdString();
}

// --- Fitting to a size ---

cv::Mat resize_lanczos(const cv::Mat& image, int width, int height) {
  require_8bit(image, "the image to resize");
  if (width < 1 || height < 1) throw Error("cannot resize to " + std::to_string(width) + "x" + std::to_string(height));
  if (image.cols == width && image.rows == height) return image.clone();
  const int channels = image.channels();
  if (channels != 1 && channels != 3) throw Error("only 1- and 3-channel images can be resized");
  // Pillow computes the vertical taps first to know which source rows the horizontal
  // pass needs; resampling all rows horizontally gives the same values.
  cv::Mat out = image;
  if (image.cols != width) out = resample_pass(out, width, true);
  if (image.rows != height) out = resample_pass(out, height, false);
  return out;
}

ResizeMode parse_resize_mode(const std::string& name) {
  if (name == "resize") return ResizeMode::resize;
  if (name == "crop") return ResizeMode::crop;
  if (name == "pad") return ResizeMode::pad;
  throw Error("unknown resize mode '" + name + "': use resize, crop or pad");
}

std::string resize_mode_name(ResizeMode mode) {
  switch (mode) {
    case ResizeMode::crop: return "crop";
    case ResizeMode::pad: return "pad";
    default: return "resize";
  }
}

Placement placement_for(cv::Size source, int width, int height, ResizeMode mode) {
  if (source.width < 1 || source.height < 1 || width < 1 || height < 1)
    throw Error("cannot fit an empty image or into an empty frame");
  Placement p;
  if (mode == ResizeMode::resize) {
    p.scaled = {width, height};
    p.frame = p.target = {0, 0, width, height};
    return p;
  }
  const double sx = static_cast<double>(width) / source.width;
  const double sy = static_cast<double>(height) / source.height;
  const double s = mode == ResizeMode::crop ? std::max(sx, sy) : std::min(sx, sy);
  const auto scaled_side = [&](int side, int frame) {
    const int v = static_cast<int>(std::lround(side * s));
    return mode == ResizeMode::crop ? std::max(v, frame) : std::clamp(v, 1, frame);
  };
  p.scaled = {scaled_side(source.width, width), scaled_side(source.height, height)};
  if (mode == ResizeMode::crop) {
    p.frame = {(p.scaled.width - width) / 2, (p.scaled.height - height) / 2, width, height};
    p.target = {0, 0, width, height};
  } else {
    p.frame = {0, 0, p.scaled.width, p.scaled.height};
    p.target = {(width - p.scaled.width) / 2, (height - p.scaled.height) / 2, p.scaled.width, p.scaled.height};
  }
  return p;
}

namespace {

cv::Mat fit(const cv::Mat& image, int width, int height, ResizeMode mode, bool is_mask) {
  require_8bit(image, is_mask ? "the mask" : "the image");
  const Placement p = placement_for(image.size(), width, height, mode);
  const cv::Mat scaled = resize_lanczos(image, p.scaled.width, p.scaled.height);
  if (mode == ResizeMode::resize) return scaled;
  if (mode == ResizeMode::crop) return scaled(p.frame).clone();
  cv::Mat out;
  const int top = p.target.y;
  const int left = p.target.x;
  const int bottom = height - p.target.y - p.target.height;
  const int right = width - p.target.x - p.target.width;
  if (is_mask)
    cv::copyMakeBorder(scaled, out, top, bottom, left, right, cv::BORDER_CONSTANT, cv::Scalar(255));
  else
    cv::copyMakeBorder(scaled, out, top, bottom, left, right, cv::BORDER_REPLICATE);
  return out;
}

}  // namespace

cv::Mat fit_image(const cv::Mat& image, int width, int height, ResizeMode mode) {
  return fit(image, width, height, mode, false);
}

cv::Mat fit_mask(const cv::Mat& mask, int width, int height, ResizeMode mode) {
  if (mask.channels() != 1) throw Error("a mask must have one channel");
  return fit(mask, width, height, mode, true);
}

cv::Size working_size_for(cv::Size image) {
  return {std::max(8, image.width / 8 * 8), std::max(8, image.height / 8 * 8)};
}

// --- Masks ---

cv::Mat threshold_mask(const cv::Mat& mask, int threshold) {
  require_8bit(mask, "the mask");
  cv::Mat out;
  cv::threshold(mask, out, threshold - 0.5, 255, cv::THRESH_BINARY);
  return out;
}

cv::Mat blur_mask(const cv::Mat& mask, int radius) {
  require_8bit(mask, "the mask");
  if (radius < 0) throw Error("mask blur " + std::to_string(radius) + " must not be negative");
  if (radius == 0) return mask.clone();
  const int kernel = 2 * static_cast<int>(2.5 * radius + 0.5) + 1;
  cv::Mat out;
  cv::GaussianBlur(mask, out, cv::Size(kernel, kernel), radius, radius, cv::BORDER_REPLICATE);
  return out;
}

bool mask_is_empty(const cv::Mat& mask, int threshold) {
  require_8bit(mask, "the mask");
  double max_value = 0;
  cv::minMaxLoc(mask, nullptr, &max_value);
  return max_value < threshold;
}

// --- Inpaint only the masked area ---

cv::Rect crop_region_for_mask(const cv::Mat& mask, int padding, int width, int height) {
  require_8bit(mask, "the mask");
  if (padding < 0) throw Error("the crop padding " + std::to_string(padding) + " must not be negative");
  if (width < 1 || height < 1) throw Error("the working size must not be empty");
  const cv::Rect all(0, 0, mask.cols, mask.rows);
  std::vector<cv::Point> points;
  cv::findNonZero(mask, points);
  if (points.empty()) return all;
  cv::Rect box = cv::boundingRect(points);
  box = cv::Rect(cv::Point(box.x - padding, box.y - padding),
                 cv::Point(box.x + box.width + padding, box.y + box.height + padding)) & all;

  // Grow the short axis so the region has the working size's aspect ratio, centred,
  // shifted back inside the image, clipped where the image is too small.
  const double want = static_cast<double>(width) / height;
  const auto grow = [](int& start, int& length, int wanted, int limit) {
    if (wanted <= length) return;
    wanted = std::min(wanted, limit);
    start -= (wanted - length) / 2;
    length = wanted;
    start = std::clamp(start, 0, limit - length);
  };
  if (static_cast<double>(box.width) / box.height > want)
    grow(box.y, box.height, static_cast<int>(std::lround(box.width / want)), mask.rows);
  else
    grow(box.x, box.width, static_cast<int>(std::lround(box.height * want)), mask.cols);
  return box & all;
}

cv::Mat paste_back(const cv::Mat& original, const cv::Mat& generated, cv::Rect region,
                   const cv::Mat& soft_mask) {
  require_8bit(original, "the original image");
  require_8bit(generated, "the generated image");
  require_8bit(soft_mask, "the mask");
  if (original.channels() != 3 || generated.channels() != 3 || soft_mask.channels() != 1)
    throw Error("paste_back needs RGB images and a one-channel mask");
  if (soft_mask.size() != original.size()) throw Error("the mask must have the original image's size");
  if ((region & cv::Rect(0, 0, original.cols, original.rows)) != region || region.area() == 0)
    throw Error("the paste region lies outside the image");
  const cv::Mat fitted = resize_lanczos(generated, region.width, region.height);
  cv::Mat out = original.clone();
  for (int y = 0; y < region.height; ++y) {
    const uint8_t* g = fitted.ptr<uint8_t>(y);
    const uint8_t* m = soft_mask.ptr<uint8_t>(region.y + y) + region.x;
    uint8_t* o = out.ptr<uint8_t>(region.y + y) + region.x * 3;
    for (int x = 0; x < region.width; ++x) {
      const int a = m[x];
      if (a == 0) continue;
      for (int c = 0; c < 3; ++c) {
        const int v = o[x * 3 + c] * (255 - a) + g[x * 3 + c] * a;
        o[x * 3 + c] = static_cast<uint8_t>((v + 127) / 255);
      }
    }
  }
  return out;
}

// --- Outpainting ---

Canvas extend_canvas(const cv::Mat& image, const Padding& padding, const cv::Mat& mask) {
  require_8bit(image, "the image");
  if (padding.left < 0 || padding.top < 0 || padding.right < 0 || padding.bottom < 0)
    throw Error("outpainting padding must not be negative");
  if (!mask.empty() && (mask.size() != image.size() || mask.channels() != 1))
    throw Error("the mask must be one channel of the image's size");
  Canvas canvas;
  cv::copyMakeBorder(image, canvas.image, padding.top, padding.bottom, padding.left, padding.right,
                     cv::BORDER_REPLICATE);
  const cv::Mat inner = mask.empty() ? cv::Mat(image.size(), CV_8UC1, cv::Scalar(0)) : mask;
  cv::copyMakeBorder(inner, canvas.mask, padding.top, padding.bottom, padding.left, padding.right,
                     cv::BORDER_CONSTANT, cv::Scalar(255));
  return canvas;
}

}  // namespace latent::image
