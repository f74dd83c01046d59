/* background — the optional purging thread (background_thread:true).
 *
 * One thread for all arenas and the huge cache. It sleeps until the next
 * decay epoch of anything that still holds dirty or muzzy pages, purges what
 * is due (arena_decay_all, huge_decay), and sleeps again; with nothing
 * pending it sleeps until woken. Frees wake it when it sleeps with nothing
 * pending, or when an arena gained ARENA_BG_WAKE_PAGES dirty pages since it
 * last looked. While it runs, allocating threads do not purge.
 *
 * It is started lazily from an allocation slow path (never inside start-up
 * or under a lock: creating a thread may allocate), and again in a fork
 * child, which has no copy of it. Error convention: background_enable
 * returns true if the thread could not be started.
 */
#ifndef BALLOC_BACKGROUND_H
#define BALLOC_BACKGROUND_H

#include <stdbool.h>

/* Non-zero when the thread is wanted but not running (checked on slow paths). */
extern int background_start_pending;

/* At start-up: want the thread, to be started on a later slow path. */
void background_boot(bool on);
/* Want the thread (on) or stop and join it (off). */
bool background_enable(bool on);
bool background_enabled(void);
/* Start the wanted thread if it is not running (from an allocation slow path). */
void background_start(void);
void background_prefork(void);
void background_postfork_parent(void);
void background_postfork_child(void);

#endif
