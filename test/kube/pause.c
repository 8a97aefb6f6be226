/*
 * The local test cluster's pod sandbox ("pause") process: holds the pod's namespaces open, reaps
 * orphaned children and exits on SIGTERM/SIGINT. No image registry is reachable here, so
 * test/support/kubeImages.ts compiles this statically and wraps it in an image of one file.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int signal_number) {
  (void)signal_number;
  _exit(0);
}

static void reap(int signal_number) {
  (void)signal_number;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stop = {.sa_handler = quit};
  struct sigaction child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigaction(SIGINT, &stop, 0);
  sigaction(SIGTERM, &stop, 0);
  sigaction(SIGCHLD, &child, 0);
  for (;;) pause();
}
