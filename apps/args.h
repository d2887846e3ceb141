// args.h: a small command-line parser: named options with defaults and help, flags, repeatable
// options and positional arguments. Every command builds one, so `--help` reads the same
// everywhere and a mistyped option is an error that names it.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqnet::cli {

// A mistake on the command line; main prints it with the command's usage line and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  Args(std::string command, std::string usage, std::string description);

  // --name VALUE (the last one given wins), with a default ("" = no default).
  Args& option(const std::string& name, const std::string& default_value, const std::string& help,
               const std::string& metavar = "VALUE");
  // --name VALUE, may be given several times.
  Args& repeated(const std::string& name, const std::string& help, const std::string& metavar = "VALUE");
  // --name, no value.
  Args& flag(const std::string& name, const std::string& help);
  // "-x" as another spelling of "--name" (the help line of --name says "also -x").
  Args& short_name(char letter, const std::string& name);
  // Accept positional arguments (described in the usage line).
  Args& positionals(const std::string& help);

  // Returns false when --help was asked for (the help is printed). Throws UsageError.
  bool parse(int argc, char** argv);

  bool given(const std::string& name) const;  // set on the command line (not by default)
  std::string str(const std::string& name) const;
  int integer(const std::string& name) const;  // UsageError naming the option if not an integer
  double number(const std::string& name) const;  // UsageError unless a finite number (no nan, inf)
  bool on(const std::string& name) const;  // a flag
  const std::vector<std::string>& all(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string help() const;
  const std::string& usage() const { return usage_; }

 private:
  struct Spec {
    std::string default_value, help, metavar;
    bool is_flag = false, is_repeated = false;
  };
  const Spec& spec(const std::string& name) const;

  std::string command_, usage_, description_, positional_help_;
  bool accepts_positionals_ = false;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> short_names_;  // "-o" -> "out"
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

}  // namespace seqnet::cli
