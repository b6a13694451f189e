#include "pipeline/stack_file.hpp"

#include <fmt/format.h>
#include <gdal.h>

#include <s2prep/errors.hpp>

namespace s2prep::pipeline {

StackFile::StackFile(const BandStack& stack, std::filesystem::path path)
    : path_(std::move(path)), grid_(stack.grid) {
  ingest::configure_gdal();
  GDALDriverH gtiff = GDALGetDriverByName("GTiff");
  if (gtiff == nullptr) throw DataError("GDAL's GTiff driver is missing.");
  const char* options[] = {"TILED=YES",       "BLOCKXSIZE=512",   "BLOCKYSIZE=512",
                           "INTERLEAVE=BAND", "BIGTIFF=IF_SAFER", nullptr};
  ingest::ErrorCapture errors;
  ingest::DatasetPtr ds(GDALCreate(gtiff, path_.c_str(), grid_.width, grid_.height, stack.bands,
                                   GDT_UInt16, const_cast<char**>(options)));
  bool ok = ds != nullptr;
  for (int b = 0; ok && b < stack.bands; ++b) {
    ok = GDALRasterIO(GDALGetRasterBand(ds.get(), b + 1), GF_Write, 0, 0, grid_.width, grid_.height,
                      const_cast<std::uint16_t*>(stack.band(b)), grid_.width, grid_.height,
                      GDT_UInt16, 0, 0) == CE_None;
  }
  if (ok) GDALFlushCache(ds.get());
  ds.reset();
  if (!ok || errors.has_failure()) {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
    throw DataError(fmt::format(
        "Cannot write the temporary stack {} for streaming inference ({}); free disk space or "
        "use --in-memory.",
        path_.string(), errors.failure_text()));
  }
}

StackFile::~StackFile() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

FileChipSource::FileChipSource(const StackFile& file)
    : grid_(file.grid()), path_(file.path()), dataset_(GDALOpen(file.path().c_str(), GA_ReadOnly)) {
  if (!dataset_) {
    throw DataError(fmt::format("Cannot reopen the temporary stack {}.", path_.string()));
  }
}

void FileChipSource::read_chip(const Window& w, std::uint16_t* out) {
  const int bands = GDALGetRasterCount(dataset_.get());
  ingest::ErrorCapture errors;
  if (GDALDatasetRasterIO(dataset_.get(), GF_Read, w.col, w.row, w.width, w.height, out, w.width,
                          w.height, GDT_UInt16, bands, nullptr, 0, 0, 0) != CE_None) {
    throw DataError(fmt::format("Cannot read a chip back from the temporary stack {} ({}).",
                                path_.string(), errors.failure_text()));
  }
}

}  // namespace s2prep::pipeline
