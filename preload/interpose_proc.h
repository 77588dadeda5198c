/* Shared by the process wrappers (interpose_proc.c, interpose_shell.c). */
#ifndef INITSAFE_INTERPOSE_PROC_H
#define INITSAFE_INTERPOSE_PROC_H

/* In a child that initsafe leaves alone: forget the parent's duties. */
void proc_after_fork_in_child(void);

/* Logs once that the set of the app's children is full. */
void proc_warn_children_full(void);

#include <sys/types.h>

/* vfork.S calls these around the system call (see there). */
void initsafe_vfork_prepare(void);
pid_t initsafe_vfork_parent(pid_t pid);
long initsafe_vfork_failed(int error);

#endif
