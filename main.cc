// keyshift: the binary is a thin shell around the engine library.
#include "cli/cli.h"

int main(int argc, char** argv) { return keyshift::RunCli(argc, argv); }
