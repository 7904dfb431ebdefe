#pragma once

// Copies of test data the tests may change (a model folder to break, to rewrite on disk).

#include <QString>

namespace latent::test {

// Copies the folder `from` with everything in it to `to` (created). False when a file
// could not be copied.
bool copy_tree(const QString& from, const QString& to);

}  // namespace latent::test
