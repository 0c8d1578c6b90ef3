// Where the Redis password comes from, and keeping it out of `ps` (SPEC 4, 9):
// the URL, --password-file FILE, KEYSHIFT_PASSWORD or REDISCLI_AUTH. A URL
// given on the command line is visible in /proc/PID/cmdline for the whole
// run, so its password is overwritten in place once the options are parsed.
#pragma once

#include <string>

#include "core/result.h"

namespace keyshift {

// The password from `password_file` (one trailing newline dropped) when given,
// else KEYSHIFT_PASSWORD, else REDISCLI_AUTH (as redis-cli), else "".
Result<std::string> ResolvePassword(const std::string& password_file);

// Overwrites with '*' the credentials of every --url and --to value in argv (the
// memory /proc/PID/cmdline shows). Call after the options were copied out.
void ScrubUrlArguments(int argc, char** argv);

}  // namespace keyshift
