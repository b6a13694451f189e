#include "ingest/mem_band.hpp"

#include <cpl_conv.h>

#include <cstddef>

namespace s2prep::ingest {

std::string mem_data_pointer_option(const void* pixels) {
  // CPLPrintPointer writes the digits without a terminating NUL: the count it returns is the
  // string's end. (Reading the buffer as a C string took whatever followed on the stack as more
  // digits, and the MEM band pointed elsewhere: found by AddressSanitizer.)
  char digits[64];
  const int n = CPLPrintPointer(digits, const_cast<void*>(pixels), sizeof(digits));
  return "DATAPOINTER=" + std::string(digits, static_cast<std::size_t>(n));
}

}  // namespace s2prep::ingest
