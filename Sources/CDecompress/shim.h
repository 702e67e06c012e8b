// The system decompressors the domain builder uses for bzImage payloads (Debian's
// liblzma-dev, zlib1g-dev, libzstd-dev): xz/lzma, gzip and zstd.
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
