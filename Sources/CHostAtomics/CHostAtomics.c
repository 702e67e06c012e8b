// Header-only module; this file lets SwiftPM build it as a C target.
#include "CHostAtomics.h"
