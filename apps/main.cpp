// main.cpp: the seqnet command line: dispatches to one command per file in apps/.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  std::printf("seqnet %s\n", SEQNET_VERSION);
  (void)argc;
  (void)argv;
  return 0;
}
