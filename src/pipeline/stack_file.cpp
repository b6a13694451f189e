#include "pipeline/stack_file.hpp"

#include <fmt/format.h>
#include <gdal.h>

#include <s2prep/errors.hpp>

namespace s2prep::pipeline {

namespace {

ingest::DatasetPtr create_stack(const std::filesystem::path& path, const Grid& grid, int bands) {
  ingest::configure_gdal();
  GDALDriverH gtiff = GDALGetDriverByName("GTiff");
  if (gtiff == nullptr) throw DataError("GDAL's GTiff driver is missing.");
  // SPARSE_OK: blocks never written read back as 0 (nodata) and take no disk space.
  const char* options[] = {
      "TILED=YES",        "BLOCKXSIZE=512", "BLOCKYSIZE=512", "INTERLEAVE=BAND",
      "BIGTIFF=IF_SAFER", "SPARSE_OK=TRUE", nullptr};
  return ingest::DatasetPtr(GDALCreate(gtiff, path.c_str(), grid.width, grid.height, bands,
                                       GDT_UInt16, const_cast<char**>(options)));
}

}  // namespace

void StackFile::fail(const std::string& what, const ingest::ErrorCapture& errors) {
  writer_.reset();
  std::error_code ec;
  std::filesystem::remove(path_, ec);
  throw DataError(fmt::format(
      "Cannot {} the temporary stack {} for streaming inference ({}); free disk space or use "
      "--in-memory.",
      what, path_.string(), errors.failure_text()));
}

StackFile::StackFile(const BandStack& stack, std::filesystem::path path)
    : path_(std::move(path)), grid_(stack.grid), bands_(stack.bands) {
  ingest::ErrorCapture errors;
  writer_ = create_stack(path_, grid_, bands_);
  if (!writer_) fail("create", errors);
  for (int b = 0; b < stack.bands; ++b) {
    if (GDALRasterIO(GDALGetRasterBand(writer_.get(), b + 1), GF_Write, 0, 0, grid_.width,
                     grid_.height, const_cast<std::uint16_t*>(stack.band(b)), grid_.width,
                     grid_.height, GDT_UInt16, 0, 0) != CE_None) {
      fail("write", errors);
    }
  }
  finish();
}

StackFile::StackFile(const Grid& grid, int bands, std::filesystem::path path)
    : path_(std::move(path)), grid_(grid), bands_(bands) {
  ingest::ErrorCapture errors;
  writer_ = create_stack(path_, grid_, bands_);
  if (!writer_) fail("create", errors);
}

void StackFile::write_rows(int band, int first_row, const Raster<std::uint16_t>& rows) {
  ingest::ErrorCapture errors;
  if (!writer_ || band < 0 || band >= bands_ || rows.grid.width != grid_.width || first_row < 0 ||
      first_row + rows.grid.height > grid_.height) {
    throw DataError(fmt::format("Rows {}-{} of band {} do not fit the temporary stack {}.",
                                first_row, first_row + rows.grid.height, band + 1, path_.string()));
  }
  if (GDALRasterIO(GDALGetRasterBand(writer_.get(), band + 1), GF_Write, 0, first_row, grid_.width,
                   rows.grid.height, const_cast<std::uint16_t*>(rows.data.data()), grid_.width,
                   rows.grid.height, GDT_UInt16, 0, 0) != CE_None ||
      errors.has_failure()) {
    fail("write", errors);
  }
}

void StackFile::finish() {
  if (!writer_) return;
  ingest::ErrorCapture errors;
  GDALFlushCache(writer_.get());
  writer_.reset();  // closing writes what is left
  if (errors.has_failure()) fail("write", errors);
}

BandStack StackFile::read(const Window& w, int bands) const {
  ingest::ErrorCapture errors;
  ingest::DatasetPtr ds(GDALOpen(path_.c_str(), GA_ReadOnly));
  BandStack out(grid_.sub_grid(w), bands);
  if (!ds || bands > GDALGetRasterCount(ds.get()) ||
      GDALDatasetRasterIO(ds.get(), GF_Read, w.col, w.row, w.width, w.height, out.data.data(),
                          w.width, w.height, GDT_UInt16, bands, nullptr, 0, 0, 0) != CE_None) {
    throw DataError(fmt::format("Cannot read back the temporary stack {} ({}).", path_.string(),
                                errors.failure_text()));
  }
  return out;
}

StackFile::~StackFile() {
  writer_.reset();
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
