#pragma once

// Keeping the server password out of plain sight in the settings file. Qt offers no access
// to the desktop's password store (QtKeychain is a library of its own, not in this build),
// so the password is scrambled, not encrypted: XOR with 32 random bytes kept in a file of
// their own (readable by its owner only), then base64. A copy of the settings file alone does
// not reveal it; someone who can read both files can recover it.

#include <QString>

namespace latent::ui {

// "" for an empty secret.
QString scramble(const QString& secret);
// The secret back; "" for a text this user's key did not make (or an empty one).
QString unscramble(const QString& stored);

}  // namespace latent::ui
