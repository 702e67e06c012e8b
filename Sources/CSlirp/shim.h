// libslirp (Debian: libslirp-dev): user-mode TCP/IP for guest networks without root or TAP.
// Linked directly rather than through pkg-config: slirp.pc requires glib's .pc files,
// which the header itself does not need.
#include <slirp/libslirp.h>
