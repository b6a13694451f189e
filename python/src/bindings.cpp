// The extension module `s2prep._s2prep`: the pybind11 shell over the public library
// (<s2prep/s2prep.hpp>). It converts between Python values and the API's plain structs, maps the
// library's exceptions to Python's, and runs every call on a thread of its own so that the
// calling thread can keep taking Ctrl-C (Python only runs signal handlers on the main thread, and
// only while it holds the GIL) and stop the work through ProcessingOptions::stop. The loaded
// cubes are handed to numpy without copies. The Python side (s2prep/__init__.py) names the
// parameters, normalises geometries and builds the xarray Dataset.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <s2prep/s2prep.hpp>

namespace py = pybind11;

namespace {

// The exception types, created once when the module is imported and kept for the life of the
// process (module globals of an extension are never unloaded).
struct ExceptionTypes {
  PyObject* error = nullptr;
  PyObject* input = nullptr;
  PyObject* nothing_found = nullptr;
  PyObject* remote = nullptr;
  PyObject* data = nullptr;
  PyObject* cancelled = nullptr;
};
ExceptionTypes exception_types;

PyObject* add_exception(py::module_& m, const char* name, py::handle bases, const char* doc) {
  const std::string qualified = std::string("s2prep.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

void translate_exception(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const s2prep::InputError& e) {
    PyErr_SetString(exception_types.input, e.what());
  } catch (const s2prep::NothingFoundError& e) {
    PyErr_SetString(exception_types.nothing_found, e.what());
  } catch (const s2prep::RemoteError& e) {
    // The URL (without query string) and the HTTP status travel as attributes.
    py::object error = py::reinterpret_borrow<py::object>(exception_types.remote)(e.what());
    error.attr("url") = e.url();
    error.attr("http_status") = e.http_status();
    PyErr_SetObject(exception_types.remote, error.ptr());
  } catch (const s2prep::DataError& e) {
    PyErr_SetString(exception_types.data, e.what());
  } catch (const s2prep::Cancelled& e) {
    PyErr_SetString(exception_types.cancelled, e.what());
  } catch (const s2prep::Error& e) {
    PyErr_SetString(exception_types.error, e.what());
  }
  // Anything else is pybind11's to translate (error_already_set, bad_alloc, ...).
}

// ---------------------------------------------------------------------------------------------
// The library's log lines go to Python's logging (logger "s2prep"), where applications show,
// redirect or silence them as they do any library's (by default Python shows warnings and errors
// on stderr). The GIL serialises the calls; s2prep holds no lock around the handler.
void log_to_python(s2prep::LogLevel level, std::string_view message) {
  if (!Py_IsInitialized() || _Py_IsFinalizing()) return;
  py::gil_scoped_acquire gil;
  try {
    const int python_level = level == s2prep::LogLevel::error     ? 40
                             : level == s2prep::LogLevel::warning ? 30
                             : level == s2prep::LogLevel::info    ? 20
                                                                  : 10;
    py::object logger = py::module_::import("logging").attr("getLogger")("s2prep");
    if (!logger.attr("isEnabledFor")(python_level).cast<bool>()) return;
    logger.attr("log")(python_level, "%s", std::string(message));
  } catch (py::error_already_set& e) {
    e.discard_as_unraisable("s2prep's logging");
  }
}

// ---------------------------------------------------------------------------------------------
// Options from the dictionary the Python side builds (keys are the structs' field names; the
// values have their types already).

template <class T>
T value_of(const py::handle& value, const std::string& key) {
  try {
    return value.cast<T>();
  } catch (const py::cast_error&) {
    throw s2prep::InputError("Parameter '" + key + "' has a value of the wrong type (" +
                             std::string(py::str(py::type::handle_of(value).attr("__name__"))) +
                             "); see help(s2prep).");
  }
}

template <class T>
std::optional<T> optional_of(const py::handle& value, const std::string& key) {
  if (value.is_none()) return std::nullopt;
  return value_of<T>(value, key);
}

using Setter = std::function<void(s2prep::RunOptions&, const py::handle&, const std::string&)>;

// One setter per option; RunOptions holds every other option struct.
const std::map<std::string, Setter>& setters() {
  using O = s2prep::RunOptions;
  using H = const py::handle&;
  using K = const std::string&;
  static const std::map<std::string, Setter> table{
      {"geometry", [](O& o, H v, K k) { o.request.geometry = value_of<std::string>(v, k); }},
      {"start", [](O& o, H v, K k) { o.request.start = value_of<std::string>(v, k); }},
      {"end", [](O& o, H v, K k) { o.request.end = value_of<std::string>(v, k); }},
      {"stac_url",
       [](O& o, H v, K k) { o.request.services.stac_url = value_of<std::string>(v, k); }},
      {"token_url",
       [](O& o, H v, K k) { o.request.services.token_url = value_of<std::string>(v, k); }},
      {"sign_hosts",
       [](O& o, H v, K k) {
         o.request.services.sign_hosts = value_of<std::vector<std::string>>(v, k);
       }},
      {"collection",
       [](O& o, H v, K k) { o.request.services.collection = value_of<std::string>(v, k); }},
      {"min_tile_cover",
       [](O& o, H v, K k) { o.request.params.min_tile_cover = value_of<double>(v, k); }},
      {"max_tiles_per_time",
       [](O& o, H v, K k) { o.request.params.max_tiles_per_time = optional_of<int>(v, k); }},
      {"cloud_thr", [](O& o, H v, K k) { o.request.params.cloud_thr = value_of<double>(v, k); }},
      {"shadow_thr", [](O& o, H v, K k) { o.request.params.shadow_thr = value_of<double>(v, k); }},
      {"in_memory", [](O& o, H v, K k) { o.request.params.in_memory = value_of<bool>(v, k); }},
      {"cloud_model",
       [](O& o, H v, K k) { o.request.params.cloud_model = value_of<std::string>(v, k); }},
      {"shadow_model",
       [](O& o, H v, K k) { o.request.params.shadow_model = value_of<std::string>(v, k); }},
      {"pc_key", [](O& o, H v, K k) { o.request.params.pc_key = optional_of<std::string>(v, k); }},
      {"dl_timeout", [](O& o, H v, K k) { o.request.params.dl_timeout = value_of<double>(v, k); }},
      {"max_cloud_cover",
       [](O& o, H v, K k) { o.request.max_cloud_cover = optional_of<double>(v, k); }},
      {"items",
       [](O& o, H v, K k) { o.request.items = optional_of<std::vector<std::string>>(v, k); }},
      {"layout",
       [](O& o, H v, K k) { o.layout = s2prep::parse_layout(value_of<std::string>(v, k)); }},
      {"full_tile", [](O& o, H v, K k) { o.full_tile = value_of<bool>(v, k); }},
      {"keep_probabilities", [](O& o, H v, K k) { o.keep_probabilities = value_of<bool>(v, k); }},
      {"model_dir", [](O& o, H v, K k) { o.model_dir = value_of<std::string>(v, k); }},
      {"engine",
       [](O& o, H v, K k) { o.engine = s2prep::parse_engine(value_of<std::string>(v, k)); }},
      {"jobs", [](O& o, H v, K k) { o.jobs = value_of<int>(v, k); }},
      {"acquisitions_in_flight",
       [](O& o, H v, K k) { o.acquisitions_in_flight = value_of<int>(v, k); }},
      {"harmonize", [](O& o, H v, K k) { o.harmonize = value_of<bool>(v, k); }},
      {"dilation_radius", [](O& o, H v, K k) { o.dilation_radius = value_of<int>(v, k); }},
      {"min_area", [](O& o, H v, K k) { o.min_area = value_of<int>(v, k); }},
      {"context_margin", [](O& o, H v, K k) { o.context_margin = value_of<int>(v, k); }},
      {"allow_incomplete", [](O& o, H v, K k) { o.allow_incomplete = value_of<bool>(v, k); }},
      {"out_dir", [](O& o, H v, K k) { o.out_dir = value_of<std::string>(v, k); }},
      {"force", [](O& o, H v, K k) { o.force = value_of<bool>(v, k); }},
      {"quicklook", [](O& o, H v, K k) { o.quicklook = value_of<bool>(v, k); }},
      {"replace_request", [](O& o, H v, K k) { o.replace_request = value_of<bool>(v, k); }},
      {"per_feature", [](O& o, H v, K k) { o.per_feature = value_of<bool>(v, k); }},
  };
  return table;
}

s2prep::RunOptions options_from(const py::dict& values) {
  s2prep::RunOptions options;
  for (const auto& [key_handle, value] : values) {
    const auto key = key_handle.cast<std::string>();
    const auto setter = setters().find(key);
    if (setter == setters().end()) {
      throw s2prep::InputError("Unknown parameter '" + key + "'; see help(s2prep).");
    }
    setter->second(options, value, key);
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// Results as plain Python values (the Python side wraps them in small classes).

py::dict grid_dict(const s2prep::Grid& grid) {
  py::dict d;
  d["epsg"] = grid.epsg;
  d["transform"] = py::make_tuple(grid.transform[0], grid.transform[1], grid.transform[2],
                                  grid.transform[3], grid.transform[4], grid.transform[5]);
  d["width"] = grid.width;
  d["height"] = grid.height;
  d["crs_wkt"] = grid.crs_wkt();
  return d;
}

py::dict acquisition_dict(const s2prep::Acquisition& a) {
  py::dict d;
  d["datetime"] = a.datetime;
  d["item_ids"] = a.item_ids;
  d["tiles"] = a.tiles;
  d["coverage"] = a.coverage;
  d["cloud_cover"] = a.cloud_cover ? py::object(py::float_(*a.cloud_cover)) : py::none();
  return d;
}

py::list skipped_list(const std::vector<s2prep::SkippedAcquisition>& skipped) {
  py::list out;
  for (const auto& s : skipped) {
    py::dict d;
    d["datetime"] = s.datetime;
    d["item_ids"] = s.item_ids;
    d["reason"] = s.reason;
    d["feature"] = s.feature;
    out.append(d);
  }
  return out;
}

py::dict search_dict(const s2prep::SearchResult& r) {
  py::dict d;
  py::list acquisitions;
  for (const auto& a : r.acquisitions) acquisitions.append(acquisition_dict(a));
  d["acquisitions"] = acquisitions;
  d["skipped"] = skipped_list(r.skipped);
  d["items_found"] = r.items_found;
  d["complete"] = r.complete;
  d["warnings"] = r.warnings;
  d["nothing_found"] = r.nothing_found;
  d["items"] = r.items;
  d["region_wkt"] = r.region_wkt;
  d["start"] = r.start;
  d["end"] = r.end;
  d["json"] = r.to_json();
  return d;
}

py::dict summary_dict(const s2prep::OutputSummary& s) {
  py::dict d;
  d["datetime"] = s.datetime;
  d["name"] = s.name;
  d["tiles"] = s.tiles;
  d["item_ids"] = s.item_ids;
  d["coverage"] = s.coverage;
  d["valid_fraction"] = s.valid_fraction;
  d["cloud_fraction"] = s.cloud_fraction;
  d["shadow_fraction"] = s.shadow_fraction;
  d["product_mask_fraction"] = s.product_mask_fraction;
  d["masked_fraction"] = s.masked_fraction;
  d["cloud_model"] = s.cloud_model;
  d["shadow_model"] = s.shadow_model;
  d["resumed"] = s.resumed;
  return d;
}

py::dict model_dict(const s2prep::ModelInfo& m) {
  py::dict d;
  d["name"] = m.name;
  d["sha256"] = m.sha256;
  d["engine"] = m.engine;
  return d;
}

// ---------------------------------------------------------------------------------------------
// Running a call: on a thread of its own, with the GIL released, stoppable from Python.

class Call {
 public:
  explicit Call(py::object progress) : progress_(std::move(progress)) {}
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  std::stop_token stop_token() const { return stop_.get_token(); }

  // Calls the Python progress callable with a dict, holding the GIL. The library calls this one
  // call at a time from its worker threads; the callable is never called after it raised.
  s2prep::ProgressCallback progress_callback() {
    if (progress_.is_none()) return {};
    return [this](const s2prep::Progress& p) {
      py::gil_scoped_acquire gil;
      if (progress_error_) throw s2prep::Cancelled("Stopped: the progress callable raised.");
      try {
        py::dict d;
        d["stage"] = p.stage;
        d["acquisition"] = p.acquisition;
        d["index"] = p.acquisition_index;
        d["count"] = p.acquisition_count;
        d["done"] = p.done;
        d["total"] = p.total;
        progress_(d);
      } catch (py::error_already_set& e) {
        progress_error_.emplace(std::move(e));
        stop_.request_stop();
        throw s2prep::Cancelled("Stopped: the progress callable raised.");
      }
    };
  }

  // Runs `body` on a new thread while this one waits in short slices with the GIL released,
  // taking it between slices to run Python's signal handlers. When a handler raises (Ctrl-C:
  // KeyboardInterrupt), the work is asked to stop, joined, and the handler's exception raised.
  template <class Result>
  Result run(const std::function<Result()>& body) {
    std::optional<Result> result;
    std::exception_ptr failure;
    std::promise<void> finished;
    auto done = finished.get_future();
    std::optional<py::error_already_set> signal_error;
    {
      py::gil_scoped_release release;
      std::thread worker([&] {
        try {
          result.emplace(body());
        } catch (...) {
          failure = std::current_exception();
        }
        finished.set_value();
      });
      while (done.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
        if (signal_error) continue;
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) {
          signal_error.emplace();  // fetches the handler's exception
          stop_.request_stop();
        }
      }
      worker.join();
    }
    if (signal_error) throw *signal_error;
    if (progress_error_) throw *progress_error_;
    if (failure) rethrow_as_library_error(failure);
    return std::move(*result);
  }

 private:
  // The library throws only s2prep::Error; anything else is a bug worth reporting, in the
  // command line's words.
  [[noreturn]] static void rethrow_as_library_error(std::exception_ptr failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const s2prep::Error&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {
      throw s2prep::Error(std::string("unexpected failure: ") + e.what() +
                          " (please report this with the call you made)");
    }
  }

  py::object progress_;
  std::stop_source stop_;
  std::optional<py::error_already_set> progress_error_;
};

// ---------------------------------------------------------------------------------------------
// The module's functions.

py::dict search(const py::dict& values) {
  const auto options = options_from(values);
  Call call{py::none()};
  const auto stop = call.stop_token();
  const auto result =
      call.run<s2prep::SearchResult>([&] { return s2prep::search(options.request, stop); });
  return search_dict(result);
}

py::dict plan_dict(const s2prep::Plan& result) {
  py::dict d;
  d["search"] = search_dict(result.search);
  py::list outputs;
  for (const auto& o : result.outputs) {
    py::dict out;
    out["name"] = o.name;
    out["datetime"] = o.datetime;
    out["item_ids"] = o.item_ids;
    out["tiles"] = o.tiles;
    out["grid"] = grid_dict(o.grid);
    out["memory_bytes"] = o.memory_bytes;
    out["scratch_bytes"] = o.scratch_bytes;
    out["output_bytes"] = o.output_bytes;
    outputs.append(out);
  }
  d["outputs"] = outputs;
  return d;
}

py::dict plan(const py::dict& values) {
  auto options = options_from(values);
  Call call{py::none()};
  options.stop = call.stop_token();
  return plan_dict(call.run<s2prep::Plan>([&] { return s2prep::plan(options); }));
}

py::dict write_plan(const py::dict& values) {
  auto options = options_from(values);
  Call call{py::none()};
  options.stop = call.stop_token();
  return plan_dict(call.run<s2prep::Plan>([&] { return s2prep::write_plan(options); }));
}

// A numpy array over `data`, kept alive by `owner` (the capsule that owns the LoadResult); None
// for an `optional` cube the load did not make (the probabilities without keep_probabilities).
template <class T>
py::object array_over(std::vector<T>& data, std::vector<py::ssize_t> shape,
                      const py::capsule& owner, const char* what, bool optional = false) {
  py::ssize_t count = 1;
  for (auto n : shape) count *= n;
  if (optional && data.empty()) return py::none();
  if (py::ssize_t(data.size()) != count) {
    throw s2prep::DataError(std::string("The loaded ") + what +
                            " does not have the grid's size; please report this.");
  }
  return py::array_t<T>(shape, data.data(), owner);
}

py::dict load(const py::dict& values, py::object progress) {
  auto options = options_from(values);
  Call call(std::move(progress));
  options.stop = call.stop_token();
  auto callback = call.progress_callback();
  auto loaded = std::make_unique<s2prep::LoadResult>(call.run<s2prep::LoadResult>([&] {
    return s2prep::load(static_cast<const s2prep::ProcessingOptions&>(options), callback);
  }));

  py::dict d;
  d["grid"] = grid_dict(loaded->grid);
  py::list acquisitions;
  for (const auto& a : loaded->acquisitions) {
    py::dict entry = summary_dict(a.summary);
    py::list sources;
    for (const auto& s : a.sources) {
      py::dict source;
      source["id"] = s.id;
      source["processing_baseline"] = s.processing_baseline;
      source["harmonized"] = s.harmonized;
      sources.append(source);
    }
    entry["sources"] = sources;
    acquisitions.append(entry);
  }
  d["acquisitions"] = acquisitions;
  d["skipped"] = skipped_list(loaded->skipped);
  d["cloud_model"] = model_dict(loaded->cloud_model);
  d["shadow_model"] = model_dict(loaded->shadow_model);
  d["notices"] = loaded->notices;

  // The arrays borrow the LoadResult's buffers; the capsule deletes it with the last of them.
  const py::ssize_t t = py::ssize_t(loaded->acquisitions.size());
  const py::ssize_t h = loaded->grid.height;
  const py::ssize_t w = loaded->grid.width;
  auto* result = loaded.release();
  py::capsule owner(result, [](void* p) { delete static_cast<s2prep::LoadResult*>(p); });
  d["reflectance"] = array_over(result->reflectance, {12, t, h, w}, owner, "reflectance");
  d["mask"] = array_over(result->mask, {t, h, w}, owner, "mask");
  d["product_mask"] = array_over(result->product_mask, {t, h, w}, owner, "product mask");
  d["cloud_probability"] =
      array_over(result->cloud_probability, {t, h, w}, owner, "cloud probability", true);
  d["shadow_probability"] =
      array_over(result->shadow_probability, {t, h, w}, owner, "shadow probability", true);
  return d;
}

py::dict run(const py::dict& values, py::object progress) {
  auto options = options_from(values);
  Call call(std::move(progress));
  options.stop = call.stop_token();
  auto callback = call.progress_callback();
  const auto result = call.run<s2prep::RunResult>([&] { return s2prep::run(options, callback); });
  py::dict d;
  py::list outputs;
  for (const auto& o : result.outputs) outputs.append(summary_dict(o));
  d["outputs"] = outputs;
  d["skipped"] = skipped_list(result.skipped);
  d["items_json"] = result.items_json.string();
  d["notices"] = result.notices;
  return d;
}

py::dict run_plan(const std::string& plan_file, int shard_index, int shard_count,
                  const std::string& model_dir, int jobs, bool force, py::object progress) {
  s2prep::PlanRunOptions options;
  options.shard = {shard_index, shard_count};
  options.model_dir = model_dir;
  options.jobs = jobs;
  options.force = force;
  Call call(std::move(progress));
  options.stop = call.stop_token();
  auto callback = call.progress_callback();
  const auto result =
      call.run<s2prep::RunResult>([&] { return s2prep::run_plan(plan_file, options, callback); });
  py::list outputs;
  for (const auto& o : result.outputs) outputs.append(summary_dict(o));
  py::dict d;
  d["outputs"] = outputs;
  return d;
}

py::dict collect(const std::string& out_dir) {
  Call call{py::none()};
  const auto result = call.run<s2prep::CollectResult>([&] { return s2prep::collect(out_dir); });
  py::dict d;
  d["units"] = result.units;
  d["complete"] = result.complete;
  d["missing"] = result.missing;
  d["items_json"] = result.items_json.string();
  return d;
}

bool initialize(int inference_threads, int gdal_cache_mb, int gdal_threads) {
  s2prep::ProcessSettings settings;
  settings.inference_threads = inference_threads;
  settings.gdal_cache_mb = gdal_cache_mb;
  settings.gdal_threads = gdal_threads;
  return s2prep::initialize(settings);
}

// The parameters a YAML or JSON parameters file sets, by their workflow names (the library's
// reader, so files mean the same to Python as to the command line's --params).
py::dict read_params_file(const std::string& path) {
  s2prep::WorkflowParams p;
  const auto keys = s2prep::load_params_file(path, p);
  py::dict values;
  for (const auto& key : keys) {
    if (key == "min_tile_cover") values[key.c_str()] = p.min_tile_cover;
    if (key == "max_tiles_per_time") {
      values[key.c_str()] = p.max_tiles_per_time ? py::object(py::int_(*p.max_tiles_per_time))
                                                 : py::object(py::none());
    }
    if (key == "cloud_thr") values[key.c_str()] = p.cloud_thr;
    if (key == "shadow_thr") values[key.c_str()] = p.shadow_thr;
    if (key == "in_memory") values[key.c_str()] = p.in_memory;
    if (key == "cloud_model") values[key.c_str()] = p.cloud_model;
    if (key == "shadow_model") values[key.c_str()] = p.shadow_model;
    if (key == "pc_key") {
      values[key.c_str()] = p.pc_key ? py::object(py::str(*p.pc_key)) : py::object(py::none());
    }
    if (key == "dl_timeout") values[key.c_str()] = p.dl_timeout;
  }
  return values;
}

}  // namespace

PYBIND11_MODULE(_s2prep, m) {
  m.doc() = "The C++ shell of s2prep; use the package `s2prep`, not this module.";

  auto& types = exception_types;
  types.error = add_exception(m, "Error", PyExc_Exception,
                              "Base of every error s2prep raises; its message is one sentence "
                              "naming the input at fault and what to do.");
  types.input = add_exception(m, "InputError",
                              py::make_tuple(py::handle(types.error), py::handle(PyExc_ValueError)),
                              "Something given is unusable: a parameter, a geometry, a date, a "
                              "parameters file, a model file.");
  types.nothing_found =
      add_exception(m, "NothingFoundError", types.error,
                    "The request was valid but the catalogue holds nothing usable for it.");
  types.remote = add_exception(m, "RemoteError", types.error,
                               "A remote service failed or answered something unusable (after "
                               "retries); `url` and `http_status` say which and how.");
  types.data = add_exception(m, "DataError", types.error, "Reading or writing raster data failed.");
  types.cancelled = add_exception(m, "Cancelled", types.error, "The work was stopped on request.");
  py::register_exception_translator(translate_exception);

  s2prep::set_log_handler(&log_to_python);

  m.def("version", &s2prep::version);
  m.def("initialize", &initialize, py::arg("inference_threads"), py::arg("gdal_cache_mb"),
        py::arg("gdal_threads"));
  m.def("search", &search, py::arg("options"));
  m.def("plan", &plan, py::arg("options"));
  m.def("load", &load, py::arg("options"), py::arg("progress"));
  m.def("run", &run, py::arg("options"), py::arg("progress"));
  m.def("read_params_file", &read_params_file, py::arg("path"));
  m.def("write_plan", &write_plan, py::arg("options"));
  m.def("run_plan", &run_plan, py::arg("plan_file"), py::arg("shard_index"), py::arg("shard_count"),
        py::arg("model_dir"), py::arg("jobs"), py::arg("force"), py::arg("progress"));
  m.def("collect", &collect, py::arg("out_dir"));
}
