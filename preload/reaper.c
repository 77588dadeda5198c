#include "reaper.h"

int reaper_start(void)
{
	return 0;
}

void reaper_wake(void)
{
}
