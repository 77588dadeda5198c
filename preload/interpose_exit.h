/* Exit drain hooks. */
#ifndef INITSAFE_INTERPOSE_EXIT_H
#define INITSAFE_INTERPOSE_EXIT_H

/* Registers the on_exit handler (active process only). */
void exit_drain_install(void);

#endif
