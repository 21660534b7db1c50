#include "lt_netns.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs ip(8) with args; iproute2 is in scripts/deps.sh, and configuring links by hand over
 * netlink would be a page of code for four commands run once. */
static int ip_run(char *const args[], char *err, size_t errlen)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        execvp("ip", args);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "'ip %s %s %s ...' failed (status %d)", args[1], args[2],
                 args[3] ? args[3] : "", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -EIO;
    }
    return 0;
}

int lt_netns_enter(char *err, size_t errlen)
{
    if (unshare(CLONE_NEWNET) < 0) {
        int e = errno;
        snprintf(err, errlen, "a private network namespace could not be made: %s%s", strerror(e),
                 e == EPERM ? " (run as root)" : "");
        return -e;
    }
    char *lo[] = {"ip", "link", "set", "lo", "up", NULL};
    /* A veth pair, not a dummy link: some kernels (this project's CI among them) lack the dummy
     * driver. Its address is local, so packets to it never reach the wire of either end. */
    char *add[] = {"ip", "link", "add", "lt0", "type", "veth", "peer", "name", "lt1", NULL};
    char *addr[] = {"ip", "addr", "add", LT_NETNS_IP "/24", "dev", "lt0", NULL};
    char *up[] = {"ip", "link", "set", "lt0", "up", NULL};
    char *peer_up[] = {"ip", "link", "set", "lt1", "up", NULL};
    int rc;
    if ((rc = ip_run(lo, err, errlen)) < 0 || (rc = ip_run(add, err, errlen)) < 0 ||
        (rc = ip_run(addr, err, errlen)) < 0 || (rc = ip_run(up, err, errlen)) < 0 ||
        (rc = ip_run(peer_up, err, errlen)) < 0)
        return rc;
    return 0;
}
