#pragma once

// The LCM-distilled fixture of fast/ as one diffusers folder. fast/tiny-lcm ships only a
// UNet and a scheduler config (as latent-consistency/lcm-sdxl does); diffusers' oracle
// combined them with tiny-sd's text encoder, tokenizer and VAE, and so does this folder.

#include <QDir>
#include <QString>

#include "tests/support/file_tree.h"
#include "tests/support/golden.h"

namespace latent::test {

// Builds the folder under `parent` (tiny-sd with fast/tiny-lcm's unet/ and scheduler/)
// and returns its path; empty when a copy failed.
inline QString make_tiny_lcm_model(const QString& parent) {
  const QString folder = QDir(parent).filePath("tiny-lcm");
  if (!copy_tree(data_path("tiny-sd"), folder)) return {};
  for (const char* part : {"unet", "scheduler"}) {
    QDir(QDir(folder).filePath(part)).removeRecursively();
    if (!copy_tree(data_path(QString("fast/tiny-lcm/") + part), QDir(folder).filePath(part))) return {};
  }
  return folder;
}

}  // namespace latent::test
