/* Names the calling thread (at most 15 characters are kept), so that top -H,
 * ps -L and a debugger tell the gateway's threads apart. */
#ifndef MCFS_THREAD_NAME_H
#define MCFS_THREAD_NAME_H

#include <pthread.h>

static inline void thread_name(const char *name)
{
	pthread_setname_np(pthread_self(), name);
}

#endif
