#pragma once

// The sampler choices of a combo box: the web UI's name (and schedule) as the text, the
// engine's name (SamplingSettings::sampler) as the data. The main sampler and the hires
// fix's second-pass sampler offer the same list.

#include <QString>

#include <string>

class QComboBox;

namespace latent::ui {

// "DPM++ 2M Karras" for "dpmpp_2m_karras".
QString samplerLabel(const std::string& name);

// Adds every sampler the engine has, in its order.
void addSamplerItems(QComboBox* combo);

}  // namespace latent::ui
