#pragma once

// The ControlNet golden set (tests/data/controlnet, copied from the shared test data): its
// cases, and its tiny ControlNets loaded once per process beside the tiny SD models.

#include <QString>

#include "core/pipeline/controlnet_loader.h"
#include "tests/support/golden_set.h"

namespace latent::test {

// controlnet/golden/index.json and its arrays.
const GoldenSet& controlnet_set();

// A file of the set named relative to its golden/ folder ("inputs/edges_a_64_64.png").
QString controlnet_file(const QString& relative);

// The ControlNet `name` of the index ("tiny-controlnet-a"), as a folder or (with
// `single_file`) its original-layout file, loaded for the tiny model `model` ("tiny-sd") on
// test_device() in fp32; shared within the process.
pipeline::LoadedControlNet& golden_controlnet(const QString& name, const QString& model = "tiny-sd",
                                              bool single_file = false);

}  // namespace latent::test
