/* The blkfront kit, shared with the blkfront test kernel. */
#include "../blkfront/front.c"
