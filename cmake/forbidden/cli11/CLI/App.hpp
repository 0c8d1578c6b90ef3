// Stands in for <CLI/App.hpp> outside the layers allowed to use it (docs/ARCHITECTURE.md).
#error "CLI11 is used only in cli/: take options as plain values"
