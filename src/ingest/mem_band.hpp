#pragma once
// Bands of GDAL's MEM driver over our own buffers: the warper writes into the caller's raster
// and the COG writer reads from it, with no copy.

#include <string>

namespace s2prep::ingest {

// "DATAPOINTER=0x…": the MEM driver's band option for a band over `pixels`.
std::string mem_data_pointer_option(const void* pixels);

}  // namespace s2prep::ingest
