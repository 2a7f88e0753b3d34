#pragma once
// Signatures of the zip records (APPNOTE 4.3), shared by the reader that finds entries in place
// and the writer that lays them out.
#include <cstdint>

namespace mlpress::zip_records {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
// A 32-bit size or offset field holding this value has its real value in the ZIP64 extra field.
constexpr uint32_t kZip64Marker = 0xFFFFFFFF;

}  // namespace mlpress::zip_records
