/* placeholder */
#include "core.h"
