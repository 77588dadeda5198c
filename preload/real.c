#include <dlfcn.h>

#include "real.h"

struct real_fns real;

#define RESOLVE(name) (*(void **)&real.name = dlsym(RTLD_NEXT, #name))

void real_resolve(void)
{
	RESOLVE(sigaction);
	RESOLVE(fork);
	RESOLVE(_Fork);
	RESOLVE(clone);
	RESOLVE(posix_spawn);
	RESOLVE(posix_spawnp);
	RESOLVE(wait);
	RESOLVE(waitpid);
	RESOLVE(waitid);
	RESOLVE(wait3);
	RESOLVE(wait4);
	RESOLVE(system);
	RESOLVE(popen);
	RESOLVE(pclose);
	RESOLVE(exit);
	RESOLVE(_exit);
	RESOLVE(daemon);
}

int real_sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	if (!real.sigaction)
		real_resolve();
	return real.sigaction(sig, act, oact);
}
