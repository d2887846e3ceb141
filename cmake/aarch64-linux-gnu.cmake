# aarch64-linux-gnu.cmake: cross-builds seqnet for aarch64 Linux (Grace Hopper, Graviton, Apple
# silicon under Linux) on an x86-64 Debian machine, with Debian's cross compiler
# (g++-aarch64-linux-gnu) and the :arm64 libraries of multiarch (dpkg --add-architecture arm64).
# Programs the build runs (the test discovery, ctest) go through qemu-aarch64, with the :arm64 C
# library of multiarch (/lib/ld-linux-aarch64.so.1). scripts/test-arm64.sh uses it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Multiarch: the :arm64 libraries are in /usr/lib/aarch64-linux-gnu, found through this, and the
# headers are the shared /usr/include; so no sysroot, and the host's x86 libraries are never seen.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
# Not `-L /usr/aarch64-linux-gnu` (the cross toolchain's own C library): with it any second thread
# hung at its start (an OpenMP parallel region of 2 threads: no progress in 30 s; without it 0.1 s).
# An absolute path: the tests exec the first word directly (tests/test_support.h, program_argv).
# (The program's re-exec that makes its OpenMP threads sleep, apps/main.cpp, fails under qemu
# without binfmt_misc: the threads keep libgomp's default, spinning a while before they sleep.
# Setting OMP_WAIT_POLICY here instead would override the user's choice BenchCommand tests.)
find_program(SEQNET_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${SEQNET_QEMU_AARCH64})
