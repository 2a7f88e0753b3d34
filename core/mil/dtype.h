#pragma once
// MIL DataType facts: names as coremltools prints them, widths, and the blob dtype each one is
// stored as (shared/spec/FORMAT.md §2.4, §4.5).
#include <optional>
#include <string>

#include "MIL.pb.h"
#include "core/blob/blob_format.h"

namespace mlpress::mil {

using DataType = CoreML::Specification::MILSpec::DataType;

// "fp16", "int4", "uint8", ...; "dtype(<n>)" for numbers this build does not know.
std::string dtype_name(int dtype);
// Bits per element for numeric types, nullopt for bool/string/unknown.
std::optional<int> dtype_bits(int dtype);
bool is_float(int dtype);
bool is_numeric(int dtype);
// The BlobDataType a tensor of this dtype is stored as, or nullopt if it never goes to a blob.
std::optional<blob::BlobDType> blob_dtype_for(int dtype);

}  // namespace mlpress::mil
