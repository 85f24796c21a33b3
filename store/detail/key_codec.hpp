#pragma once
// The on-disk key layout of the events column family (see docs/store.md):
//
//   region bytes | 0x00 | time: 8 bytes big-endian, sign bit flipped | hash: 8 bytes big-endian
//
// Big-endian with the sign bit flipped makes bytewise order equal numeric order, negative
// times included, so a forward scan between two keys returns events in time order. The
// 0x00 separator (region names may not contain it) keeps every region's keys in one
// contiguous run that no other region's run interleaves with. The hash orders events of the
// same millisecond stably and makes a re-ingested event land on its own key (idempotence).
// Everything here is part of the on-disk format: changing it breaks existing stores.

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace audit::store::detail {

inline constexpr char kRegionSeparator = '\0';
inline constexpr std::size_t kSuffixBytes = 16;  // time + hash

inline void appendBigEndian(std::string& out, std::uint64_t v) {
  char bytes[8];
  for (int i = 7; i >= 0; --i) {
    bytes[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out.append(bytes, 8);
}

inline std::uint64_t readBigEndian(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

inline std::uint64_t orderedTime(EpochMillis ms) {
  return static_cast<std::uint64_t>(ms) ^ (std::uint64_t{1} << 63);
}

inline EpochMillis timeFromOrdered(std::uint64_t v) {
  return static_cast<EpochMillis>(v ^ (std::uint64_t{1} << 63));
}

/** Region names are the key prefix: non-empty, no 0x00, short enough to keep keys small. */
inline bool validRegionName(std::string_view region) {
  return !region.empty() && region.size() <= 255 &&
         region.find(kRegionSeparator) == std::string_view::npos;
}

/** "region\0": the smallest key of a region (also the prefix of all its keys). */
inline std::string regionPrefix(std::string_view region) {
  std::string key(region);
  key.push_back(kRegionSeparator);
  return key;
}

/** "region\x01": just past every key of the region. */
inline std::string regionEnd(std::string_view region) {
  std::string key(region);
  key.push_back(static_cast<char>(kRegionSeparator + 1));
  return key;
}

/** The first key at or after time `ms` in a region. */
inline std::string timeKey(std::string_view region, EpochMillis ms) {
  std::string key = regionPrefix(region);
  appendBigEndian(key, orderedTime(ms));
  return key;
}

inline std::string eventKey(std::string_view region, EpochMillis ms, std::uint64_t hash) {
  std::string key = timeKey(region, ms);
  appendBigEndian(key, hash);
  return key;
}

/** The same key with hash+1: where an event goes when its hash slot holds other bytes. */
inline void nextProbe(std::string& key) {
  std::uint64_t h = readBigEndian(key.data() + key.size() - 8);
  key.resize(key.size() - 8);
  appendBigEndian(key, h + 1);
}

/** Time of an event key whose region prefix has `prefix_size` bytes (incl. separator). */
inline EpochMillis keyTime(std::string_view key, std::size_t prefix_size) {
  return timeFromOrdered(readBigEndian(key.data() + prefix_size));
}

/**
 * A stable 64-bit hash of event bytes: FNV-1a over little-endian 8-byte words and then the
 * tail bytes, finished with MurmurHash3's fmix64 so nearby inputs spread. Word-wise because
 * byte-wise FNV costs ~1 µs on a 600-byte event. Stable across runs and machines (it is part
 * of every key); collisions are handled by probing, so it needs no cryptographic strength.
 */
inline std::uint64_t eventHash(std::string_view bytes) {
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  std::uint64_t h = 0xcbf29ce484222325ULL;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
    h = (h ^ word) * kPrime;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * kPrime;
  h ^= bytes.size();
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

inline std::string toHex(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[v & 0xf];
    v >>= 4;
  }
  return out;
}

}  // namespace audit::store::detail
