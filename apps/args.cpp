// args.cpp: the command-line parser of args.h.
#include "apps/args.h"

#include <cmath>
#include <cstdio>
#include <sstream>

namespace seqnet::cli {

Args::Args(std::string command, std::string usage, std::string description)
    : command_(std::move(command)), usage_(std::move(usage)), description_(std::move(description)) {}

Args& Args::option(const std::string& name, const std::string& default_value, const std::string& help,
                   const std::string& metavar) {
  specs_[name] = Spec{default_value, help, metavar};
  order_.push_back(name);
  return *this;
}

Args& Args::repeated(const std::string& name, const std::string& help, const std::string& metavar) {
  specs_[name] = Spec{"", help, metavar, false, true};
  order_.push_back(name);
  return *this;
}

Args& Args::flag(const std::string& name, const std::string& help) {
  specs_[name] = Spec{"", help, "", true};
  order_.push_back(name);
  return *this;
}

Args& Args::short_name(char letter, const std::string& name) {
  Spec& sp = const_cast<Spec&>(spec(name));
  short_names_[std::string("-") + letter] = name;
  sp.help += std::string(" (also -") + letter + ")";
  return *this;
}

Args& Args::positionals(const std::string& help) {
  accepts_positionals_ = true;
  positional_help_ = help;
  return *this;
}

const Args::Spec& Args::spec(const std::string& name) const {
  auto it = specs_.find(name);
  if (it == specs_.end()) throw std::logic_error("option --" + name + " was never declared");
  return it->second;
}

bool Args::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (auto alias = short_names_.find(a); alias != short_names_.end()) a = "--" + alias->second;
    if (a == "-h" || a == "--help") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), value;
      bool inline_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inline_value = true;
      }
      auto it = specs_.find(name);
      if (it == specs_.end()) throw UsageError("unknown option --" + name + " for 'seqnet " + command_ + "'");
      if (it->second.is_flag) {
        if (inline_value) throw UsageError("--" + name + " takes no value");
        values_[name] = {"1"};
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= argc) throw UsageError("--" + name + " needs a value (" + it->second.metavar + ")");
        value = argv[++i];
      }
      if (it->second.is_repeated) values_[name].push_back(value);
      else values_[name] = {value};
    } else if (a.size() > 1 && a[0] == '-' && a.find_first_not_of("-.0123456789") != std::string::npos) {
      throw UsageError("unknown option " + a + " for 'seqnet " + command_ + "'");
    } else {
      if (!accepts_positionals_) throw UsageError("unexpected argument '" + a + "' for 'seqnet " + command_ + "'");
      positional_.push_back(a);
    }
  }
  return true;
}

bool Args::given(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::string Args::str(const std::string& name) const {
  const Spec& s = spec(name);
  auto it = values_.find(name);
  return it == values_.end() ? s.default_value : it->second.back();
}

int Args::integer(const std::string& name) const {
  std::string v = str(name);
  try {
    size_t used = 0;
    long long x = std::stoll(v, &used);
    if (used != v.size() || x < INT32_MIN || x > INT32_MAX) throw std::invalid_argument(v);
    return static_cast<int>(x);
  } catch (const std::exception&) {
    throw UsageError("--" + name + " must be an integer, got '" + v + "'");
  }
}

double Args::number(const std::string& name) const {
  std::string v = str(name);
  try {
    size_t used = 0;
    double x = std::stod(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    // nan and inf parse, but no option means them, and a nan compares false with every bound
    // the command checks, so it would slip through.
    if (!std::isfinite(x)) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw UsageError("--" + name + " must be a finite number, got '" + v + "'");
  }
}

bool Args::on(const std::string& name) const { return spec(name).is_flag && values_.count(name) > 0; }

const std::vector<std::string>& Args::all(const std::string& name) const {
  static const std::vector<std::string> none;
  spec(name);
  auto it = values_.find(name);
  return it == values_.end() ? none : it->second;
}

std::string Args::help() const {
  std::ostringstream s;
  s << "usage: seqnet " << command_ << " " << usage_ << "\n\n" << description_ << "\n";
  if (accepts_positionals_) s << "\n  " << positional_help_ << "\n";
  if (!order_.empty()) s << "\noptions:\n";
  for (const std::string& name : order_) {
    const Spec& sp = specs_.at(name);
    std::string left = "--" + name + (sp.is_flag ? "" : " " + sp.metavar);
    s << "  " << left;
    s << std::string(left.size() < 26 ? 26 - left.size() : 1, ' ') << sp.help;
    if (!sp.default_value.empty()) s << " (default " << sp.default_value << ")";
    if (sp.is_repeated) s << " (repeatable)";
    s << "\n";
  }
  s << "  --help                    this text\n";
  return s.str();
}

}  // namespace seqnet::cli
