/* The netfront kernel's xenstore calls (read, write, numbers, waiting for a value). */
#include "../netfront/xs.c"
