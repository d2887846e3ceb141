# aarch64-linux-gnu.cmake: cross-builds seqnet for aarch64 Linux (Grace Hopper, Graviton, Apple
# silicon under Linux) on an x86-64 Debian machine, with Debian's cross compiler
# (g++-aarch64-linux-gnu) and the :arm64 libraries of multiarch (dpkg --add-architecture arm64).
# Programs the build runs (the test discovery, ctest) go through qemu-aarch64; -L points its
# dynamic loader at the cross C library. scripts/test-arm64.sh uses it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Multiarch: the :arm64 libraries are in /usr/lib/aarch64-linux-gnu, found through this, and the
# headers are the shared /usr/include; so no sysroot, and the host's x86 libraries are never seen.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# OPENBLAS_NUM_THREADS=1: under qemu-user, OpenBLAS's idle pthreads spin on exclusive loads and
# stores, which qemu runs one thread at a time, so the program stalled before main (seqnet --help:
# no output in 30 s; 0.1 s with one BLAS thread). OMP_WAIT_POLICY=passive for the same reason: the
# program's own re-exec that sets it (apps/main.cpp) fails under qemu without binfmt_misc.
# Absolute paths: the tests exec the first word directly (tests/test_support.h, program_argv).
find_program(SEQNET_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/env OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive
    ${SEQNET_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
