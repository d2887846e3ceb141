// registry.h: the list of `seqnet` commands. Each apps/cmd_<name>.cpp registers its command with
//   static const bool registered = seqnet::cli::register_command({"name", "one line", order, run});
// so adding a command touches one new file and nothing else.
#pragma once

#include <string>
#include <vector>

namespace seqnet::cli {

struct Command {
  std::string name;
  std::string summary;             // one line for `seqnet --help`
  int order;                       // position in the help listing
  int (*run)(int argc, char** argv);  // arguments after the command name; returns the exit status
};

bool register_command(const Command& command);
const std::vector<Command>& commands();  // sorted by order

}  // namespace seqnet::cli
