/* One process owns a run directory.
 *
 * `zoptic train` (new or --resume) takes an exclusive advisory lock
 * (flock) on <dir>/.lock before it writes anything in the directory and
 * holds it until it exits.  The lock belongs to the open file: it ends with
 * the process however the process ends (kill -9 included), so a stale lock
 * is impossible; the file itself stays behind and only records the pid,
 * host and start time of its last owner, for the message a second process
 * gets:
 *   runs/demo: run directory in use by process 4711 on host lab1 (zoptic
 *   train since 2026-12-04 17:02:11 UTC); wait for it to end or stop it
 * The file is never removed (removing it would let two processes lock two
 * different files of the same name).  flock on NFS is emulated by the
 * kernel through fcntl locks and works across hosts on NFSv4.
 */
#ifndef ZPT_RUNLOCK_H
#define ZPT_RUNLOCK_H

#define ZPT_RUN_LOCK ".lock"

typedef struct zpt_runlock zpt_runlock;

/* Locks `dir` (which must exist) for this process, without waiting.
 * Fails with ZPT_EIO naming the owner's pid when another process holds it,
 * ZPT_ENOTFOUND when dir does not exist, ZPT_EIO for other failures. */
int zpt_runlock_acquire(const char *dir, zpt_runlock **out);

/* Releases the lock (NULL: no-op).  The lock file stays. */
void zpt_runlock_release(zpt_runlock *lock);

#endif
