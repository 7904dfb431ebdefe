#pragma once

// SHA-256 of model files, remembered on disk so each file is read once: the cache
// (QStandardPaths::CacheLocation/file-hashes.json) is keyed by path, size and
// modification time, so a replaced or edited file is hashed again.

#include <string>
#include <vector>

namespace latent::util {

// Lower-case hex SHA-256 over the files' contents, one after another; empty when a
// file cannot be read. Looks the answer up in the cache first and stores it afterwards
// (a cache that cannot be read or written only costs the time of hashing).
std::string cached_sha256(const std::vector<std::string>& paths);

// The same without the cache.
std::string sha256_of_files(const std::vector<std::string>& paths);

// Where the cache lives.
std::string file_hash_cache_path();

}  // namespace latent::util
