#pragma once

// The command line's --control value, a ControlNet unit written as comma-separated
// key=value pairs:
//   model=PATH,image=FILE[,scale=S][,start=A][,end=B][,preprocess=NAME][,low=L][,high=H]
//   [,threshold=T][,resize=stretch|crop|fill]
// A value holding a comma is written in double quotes (model="a,b.safetensors"). Text from
// outside: every malformed part is refused with latent::Error naming it.

#include <string>

#include "core/api/generation_request.h"

namespace latent::control {

// The unit the text describes (model and image required; the rest keeps ControlUnit's
// defaults). Values are checked for form here (numbers, known keys, no repeats); ranges are
// checked with the request (pipeline::validate_control_units).
api::ControlUnit parse_control_spec(const std::string& text);

}  // namespace latent::control
