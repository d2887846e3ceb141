// test_docs_links.cpp: every doc (README.md and whatever docs/*.md exist) held to the code: the
// lines it links, the tests it cites and the command options it quotes, so a doc cannot drift.
//
// The conventions a doc follows, so that this test can check it:
// - A line link is PATH:N or PATH:N-M in the prose (not in a code block): PATH is a file of the
//   repository, from its root, or a bare file name only one file has. It names what it lands on
//   with the code span written just before it, at most 40 characters before (other links between
//   do not count): "`name` (PATH:N)", "`name`, PATH:N", "`name` at PATH:N and PATH:K". The
//   span's text, or for a function `a::b(...)` the name b, must be on line N (on one of lines
//   N..M for a range). A link with no span before it fails, and so does "at line N": a line
//   number without its file cannot be checked.
// - A cited test is a code span `Suite.Name`, `Prefix/Suite.Name/Param` or a gtest filter of that
//   form (* and ? as wildcards), or the positive patterns of a --gtest_filter= in a code block;
//   each must match at least one test of this program (--gtest_list_tests). A suite this build
//   does not compile (the CUDA tests without nvcc) is looked up in the sources under tests/.
// - A quoted command line `seqnet CMD ...` (a code span, or a code block line; build/seqnet and
//   mpirun ... seqnet too) uses only options that `seqnet CMD --help` lists.
// - "every command takes `--opt`" must hold for every command `seqnet --help` lists, and
//   "`--opt ...` is taken by `a`, `b` and `c`" must name exactly the commands whose help lists it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace seqnet {
namespace {

namespace fs = std::filesystem;
const fs::path kRoot = SEQNET_SOURCE_DIR;

// A doc split into prose (code blocks blanked, lines joined by spaces, so a sentence reads the
// same wherever it wraps) and its code lines (fenced or indented blocks, `\` continuations joined).
struct Doc {
  std::string name;               // e.g. docs/DERIVATIONS.md
  std::string prose;              // one string; '\n' kept so offsets map to lines
  std::vector<std::string> code;  // the lines of its code blocks
  int line_of(size_t offset) const { return 1 + int(std::count(prose.begin(), prose.begin() + offset, '\n')); }
};

Doc read_doc(const fs::path& path) {
  Doc doc{fs::relative(path, kRoot).string(), "", {}};
  std::istringstream in(test::read_text(path.string()));
  std::string line, previous = "", pending;
  bool fenced = false, indented = false;
  while (std::getline(in, line)) {
    const bool fence = line.rfind("```", 0) == 0;
    // An indented block starts after a blank line and goes on while lines stay indented by 4.
    const bool four = line.rfind("    ", 0) == 0 || line.rfind("\t", 0) == 0;
    indented = !fenced && four && (indented || previous.empty());
    if (fence) fenced = !fenced;
    if (fence || fenced || indented) {
      if (!fence) {
        pending += line;
        if (!pending.empty() && pending.back() == '\\') pending.pop_back();
        else doc.code.push_back(pending), pending.clear();
      }
      doc.prose += '\n';
    } else {
      doc.prose += line + '\n';
    }
    previous = line;
  }
  return doc;
}

std::vector<Doc> all_docs() {
  std::vector<fs::path> paths = {kRoot / "README.md"};
  for (const fs::directory_entry& e : fs::directory_iterator(kRoot / "docs"))
    if (e.path().extension() == ".md") paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  std::vector<Doc> docs;
  for (const fs::path& p : paths) docs.push_back(read_doc(p));
  return docs;
}

// What a command prints (stdout and stderr).
std::string output_of(const std::string& command) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

std::vector<std::string> file_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(test::read_text(path.string()));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The files a bare name may mean: every file of that name under the root, build and hidden
// folders left out.
std::vector<fs::path> files_named(const std::string& name) {
  std::vector<fs::path> found;
  for (auto it = fs::recursive_directory_iterator(kRoot); it != fs::recursive_directory_iterator(); ++it) {
    const std::string leaf = it->path().filename().string();
    if (it->is_directory() && (leaf.rfind("build", 0) == 0 || leaf[0] == '.' || leaf == "third_party")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && leaf == name) found.push_back(it->path());
  }
  return found;
}

// The code spans of a text: (offset of the opening backtick, content).
std::vector<std::pair<size_t, std::string>> code_spans(const std::string& text) {
  std::vector<std::pair<size_t, std::string>> spans;
  for (size_t a = text.find('`'); a != std::string::npos;) {
    const size_t b = text.find('`', a + 1);
    if (b == std::string::npos) break;
    spans.push_back({a, text.substr(a + 1, b - a - 1)});
    a = text.find('`', b + 1);
  }
  return spans;
}

// The names a span may be found under on the linked line: its text, the text before '(', the
// last component of a qualified name.
std::vector<std::string> names_of(std::string span) {
  std::vector<std::string> names = {span};
  if (const size_t p = span.find('('); p != std::string::npos && p > 0) names.push_back(span = span.substr(0, p));
  if (const size_t q = span.rfind("::"); q != std::string::npos) names.push_back(span.substr(q + 2));
  return names;
}

const std::regex kLink(R"((^|[^A-Za-z0-9_./+-])([A-Za-z0-9_./+-]+\.(cpp|h|cu|cuh|md|sh|txt|cmake|json|py))(:|#L)([0-9]+)(-([0-9]+))?)");

TEST(DocsLinks, LineLinksLandOnWhatTheyName) {
  int links = 0;
  for (const Doc& doc : all_docs()) {
    const auto spans = code_spans(doc.prose);
    // Every link's place in the prose, so the gap before a link can leave other links out.
    std::vector<std::pair<size_t, size_t>> places;
    for (std::sregex_iterator m(doc.prose.begin(), doc.prose.end(), kLink), end; m != end; ++m)
      places.push_back({size_t(m->position(2)), size_t(m->position(2) + m->length(2) + m->length(4) +
                                                         m->length(5) + m->length(6))});
    for (std::sregex_iterator m(doc.prose.begin(), doc.prose.end(), kLink), end; m != end; ++m) {
      ++links;
      const size_t at = size_t(m->position(2));
      const std::string where = doc.name + ":" + std::to_string(doc.line_of(at)) + ": " + m->str(2) + ":" + m->str(5);
      // The file.
      fs::path file = kRoot / m->str(2);
      if (!fs::is_regular_file(file)) {
        const std::vector<fs::path> named = files_named(fs::path(m->str(2)).filename().string());
        if (m->str(2).find('/') != std::string::npos || named.size() != 1) {
          ADD_FAILURE() << where << ": no such file in the repository (or the bare name is not unique)";
          continue;
        }
        file = named[0];
      }
      const std::vector<std::string> lines = file_lines(file);
      const int first = std::stoi(m->str(5)), last = m->str(7).empty() ? first : std::stoi(m->str(7));
      if (first < 1 || last < first || last > int(lines.size())) {
        ADD_FAILURE() << where << ": the file has " << lines.size() << " lines";
        continue;
      }
      // The name: the last span that ends before the link, with at most 40 characters between
      // once the other links are taken out.
      const std::pair<size_t, std::string>* name = nullptr;
      for (const auto& s : spans)
        if (s.first + s.second.size() + 2 <= at) name = &s;
      size_t gap = name ? at - (name->first + name->second.size() + 2) : 0;
      if (name)
        for (const auto& [a, b] : places)
          if (a >= name->first + name->second.size() + 2 && b <= at) gap -= b - a;
      if (!name || gap > 40) {
        ADD_FAILURE() << where << ": no `name` before the link says what it lands on";
        continue;
      }
      bool found = false;
      for (const std::string& n : names_of(name->second))
        for (int l = first; l <= last && !found; ++l) found = lines[l - 1].find(n) != std::string::npos;
      if (!found) {
        std::string text;
        for (int l = first; l <= last && l <= first + 2; ++l) text += "\n    " + lines[l - 1];
        ADD_FAILURE() << where << ": `" << name->second << "` is not on that line, which reads:" << text;
      }
    }
    const std::regex bare(R"(\b(at|on) lines? [0-9]+)");
    for (std::sregex_iterator m(doc.prose.begin(), doc.prose.end(), bare), end; m != end; ++m)
      ADD_FAILURE() << doc.name << ":" << doc.line_of(size_t(m->position())) << ": \"" << m->str()
                    << "\" has no file: write PATH:N after the name it lands on";
  }
  EXPECT_GT(links, 0) << "the docs link no line at all: the pattern lost them";
}

// Shell-style * and ? matching, as gtest filters match.
bool glob(const char* p, const char* s) {
  if (*p == '\0') return *s == '\0';
  if (*p == '*') return glob(p + 1, s) || (*s && glob(p, s + 1));
  return *s && (*p == '?' || *p == *s) && glob(p + 1, s + 1);
}

// The tests of this program, full names as --gtest_filter reads them.
std::vector<std::string> compiled_tests() {
  std::vector<std::string> tests;
    // The path /proc/self/exe links to: inside popen's shell /proc/self is the shell.
  // (In a cross build it runs under the emulator, as this program does.)
  std::istringstream in(
      output_of(SEQNET_EMULATOR + fs::read_symlink("/proc/self/exe").string() + " --gtest_list_tests"));
  std::string suite;
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find("  #"));
    if (line.empty()) continue;
    if (line[0] != ' ') suite = line;
    else tests.push_back(suite + line.substr(line.find_first_not_of(' ')));
  }
  return tests;
}

// The tests declared in the sources under tests/, each parameterised one as Prefix/Suite.Name/0
// for each of its instantiation prefixes (the parameter names are not in the sources).
std::vector<std::string> declared_tests() {
  std::vector<std::string> tests;
  std::multimap<std::string, std::string> prefixes;  // suite -> instantiation prefix
  std::vector<std::pair<std::string, std::string>> parameterised;
  const std::regex test(R"(\b(TEST|TEST_F|TEST_P|TYPED_TEST)\(\s*(\w+),\s*(\w+)\))");
  const std::regex inst(R"(\bINSTANTIATE_TEST_SUITE_P\(\s*(\w+),\s*(\w+))");
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(kRoot / "tests")) {
    if (e.path().extension() != ".cpp") continue;
    const std::string text = test::read_text(e.path().string());
    for (std::sregex_iterator m(text.begin(), text.end(), test), end; m != end; ++m) {
      if (m->str(1) == "TEST_P") parameterised.push_back({m->str(2), m->str(3)});
      else tests.push_back(m->str(2) + "." + m->str(3));
    }
    for (std::sregex_iterator m(text.begin(), text.end(), inst), end; m != end; ++m)
      prefixes.insert({m->str(2), m->str(1)});
  }
  for (const auto& [suite, name] : parameterised)
    for (auto [a, b] = prefixes.equal_range(suite); a != b; ++a)
      tests.push_back(a->second + "/" + suite + "." + name + "/0");
  return tests;
}

std::string suite_of(const std::string& name) {
  const size_t dot = name.find('.');
  const std::string head = name.substr(0, dot);
  return head.substr(head.find('/') == std::string::npos ? 0 : head.find('/') + 1);
}

TEST(DocsLinks, CitedTestsExist) {
  const std::vector<std::string> compiled = compiled_tests(), declared = declared_tests();
  ASSERT_FALSE(compiled.empty()) << "--gtest_list_tests listed nothing";
  std::set<std::string> compiled_suites;
  for (const std::string& t : compiled) compiled_suites.insert(suite_of(t));
  const std::regex cited(R"(^(\w+/)?[A-Z]\w*\.[A-Z*?][\w*?]*(/[\w*?]+)?$)");
  int citations = 0;
  for (const Doc& doc : all_docs()) {
    std::vector<std::pair<int, std::string>> patterns;  // (line, pattern)
    for (const auto& [at, span] : code_spans(doc.prose))
      if (std::regex_match(span, cited)) patterns.push_back({doc.line_of(at), span});
    const std::regex filter(R"(--gtest_filter='?([^' ]+))");
    for (const std::string& line : doc.code)
      for (std::sregex_iterator m(line.begin(), line.end(), filter), end; m != end; ++m) {
        std::string positive = m->str(1).substr(0, m->str(1).find('-'));
        for (std::istringstream parts(positive); std::getline(parts, positive, ':');)
          if (positive != "FILTER" && !positive.empty()) patterns.push_back({0, positive});
      }
    for (const auto& [line, pattern] : patterns) {
      ++citations;
      bool found = false;
      if (compiled_suites.count(suite_of(pattern)) || pattern.find('*') == 0) {
        for (const std::string& t : compiled) found = found || glob(pattern.c_str(), t.c_str());
      } else {
        // Not compiled here: the declared name, with any parameter name allowed.
        std::string p = pattern;
        if (std::count(p.begin(), p.end(), '/') == 2) p = p.substr(0, p.rfind('/')) + "/*";
        for (const std::string& t : declared) found = found || glob(p.c_str(), t.c_str());
      }
      EXPECT_TRUE(found) << doc.name << ":" << (line ? std::to_string(line) : "code block") << ": `" << pattern
                         << "` matches no test";
    }
  }
  EXPECT_GT(citations, 20) << "the docs cite fewer tests than they do: the pattern lost them";
}

// The commands `seqnet --help` lists.
std::vector<std::string> commands() {
  std::vector<std::string> names;
  std::istringstream in(output_of(SEQNET_PROGRAM " --help"));
  bool listing = false;
  for (std::string line; std::getline(in, line);) {
    if (line == "commands:") listing = true;
    else if (listing && line.rfind("  ", 0) == 0) names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

// Whether `seqnet CMD --help` lists an option ("--name" or "-x", the short form written "also -x").
bool takes(const std::string& help, const std::string& option) {
  if (option.rfind("--", 0) != 0) return help.find("also " + option + ")") != std::string::npos;
  for (size_t at = help.find("\n  " + option); at != std::string::npos; at = help.find("\n  " + option, at + 1)) {
    const char next = at + 3 + option.size() < help.size() ? help[at + 3 + option.size()] : '\n';
    if (next == ' ' || next == '\n' || next == ',') return true;
  }
  return false;
}

TEST(DocsLinks, QuotedOptionsAreAccepted) {
  const std::vector<std::string> names = commands();
  ASSERT_GE(names.size(), 5u) << "seqnet --help lists too few commands";
  std::map<std::string, std::string> help;
  for (const std::string& c : names) help[c] = output_of(std::string(SEQNET_PROGRAM) + " " + c + " --help");
  int quoted = 0;
  for (const Doc& doc : all_docs()) {
    std::vector<std::pair<int, std::string>> lines;  // command lines: (doc line or 0, text)
    for (const auto& [at, span] : code_spans(doc.prose)) lines.push_back({doc.line_of(at), span});
    for (const std::string& l : doc.code) lines.push_back({0, l});
    for (const auto& [line, text] : lines) {
      std::istringstream words(text);
      std::vector<std::string> w;
      for (std::string s; words >> s;) w.push_back(s);
      for (size_t i = 0; i + 1 < w.size(); ++i) {
        const bool program = w[i] == "seqnet" || (w[i].size() > 7 && w[i].rfind("/seqnet") == w[i].size() - 7);
        if (!program || !help.count(w[i + 1])) continue;
        const std::string& command = w[i + 1];
        for (size_t j = i + 2; j < w.size(); ++j) {
          if (w[j] == "|" || w[j] == "&&" || w[j] == ";" || w[j][0] == '#' || w[j][0] == '>') break;
          const std::string option = w[j].substr(0, w[j].find('='));
          const bool dashed = option.size() >= 2 && option[0] == '-' && std::isalpha(option.back());
          if (!dashed || option == "--help") continue;
          ++quoted;
          EXPECT_TRUE(takes(help[command], option))
              << doc.name << ":" << (line ? std::to_string(line) : "code block") << ": `seqnet " << command << "` has no "
              << option << " (quoted in: " << text << ")";
        }
      }
    }
    // "every command takes `--opt`" and "`--opt ...` is taken by `a`, `b` and `c`".
    std::string flat = doc.prose;
    std::replace(flat.begin(), flat.end(), '\n', ' ');
    const std::regex every(R"([Ee]very command takes `(--[a-z-]+))");
    for (std::sregex_iterator m(flat.begin(), flat.end(), every), end; m != end; ++m)
      for (const std::string& c : names)
        EXPECT_TRUE(takes(help[c], m->str(1))) << doc.name << ":" << doc.line_of(size_t(m->position())) << ": \""
                                               << m->str() << "\", but `seqnet " << c << "` does not take it";
    const std::regex taken_by(R"(`(--[a-z-]+)[^`]*` is taken by ((`[a-z]+`(, | and )?)+))");
    for (std::sregex_iterator m(flat.begin(), flat.end(), taken_by), end; m != end; ++m) {
      std::set<std::string> said, true_set;
      for (const auto& [at, c] : code_spans(m->str(2))) said.insert(c);
      for (const std::string& c : names)
        if (takes(help[c], m->str(1))) true_set.insert(c);
      EXPECT_EQ(said, true_set) << doc.name << ":" << doc.line_of(size_t(m->position())) << ": \"" << m->str() << "\"";
    }
  }
  EXPECT_GT(quoted, 10) << "the docs quote fewer options than they do: the pattern lost them";
}

}  // namespace
}  // namespace seqnet
