#pragma once

#include <CLI/CLI.hpp>

namespace visearch::cli {
// `visearch search-eval --queries FILE`: runs every query of a judgments file through the same photo
// analysis and SearchService as `visearch search`, and reports precision@k, recall@k, nDCG@k, MRR and the
// object recall per ranking (src/search/search_eval.h has the file format and the definitions).
void add_search_eval_command(CLI::App& app, int* exit_code);
}  // namespace visearch::cli
