// FastestDet: one output [1, 5 + C, G, G] (channels, grid rows, grid cols).
//
//   ch 0      objectness (sigmoid applied)
//   ch 1..4   raw box: cx = (gx + tanh(c1)) / G, cy = (gy + tanh(c2)) / G,
//             w = sigmoid(c3), h = sigmoid(c4)        [normalised to the input]
//   ch 5..    class probabilities (softmax applied)
//   score = obj^0.6 * max_cls^0.4
#pragma once

#include "model/family_registry.h"

namespace visearch {
void register_fastestdet(FamilyRegistry& registry);
}
