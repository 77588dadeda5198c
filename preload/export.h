/* The library builds with -fvisibility=hidden; this marks what apps see. */
#ifndef INITSAFE_EXPORT_H
#define INITSAFE_EXPORT_H

#define EXPORT __attribute__((visibility("default")))

#endif
