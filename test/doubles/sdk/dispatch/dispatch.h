/* Stand-in SDK header: see vmnet/vmnet.h here. */
#include "../vmnet/vmnet.h"
