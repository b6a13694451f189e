#pragma once
// Ctrl-C and SIGTERM for the command-line tool: one line on stderr ("interrupted; run the same
// command again to resume"), this process's temporary files removed from the output folder,
// and exit status 130 (SIGINT) or 143 (SIGTERM), as shells report a process ended by them.
// Outputs are complete or absent at every moment (each file is renamed into place, the STAC
// sidecar last), so nothing else needs undoing.

#include <filesystem>

namespace s2prep::cli {

// Installs the handlers of SIGINT and SIGTERM and starts the thread that acts on them. Call
// first thing in main().
void install_interrupt_handling();

// The output folder whose temporary files are removed on interruption.
void set_interrupt_cleanup_folder(const std::filesystem::path& folder);

}  // namespace s2prep::cli
