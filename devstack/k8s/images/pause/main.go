// The pod sandbox ("pause") process: holds the pod's namespaces open and exits on SIGINT/SIGTERM.
// Built here because no registry can be pulled from. As PID 1 of the sandbox it would also be
// the reaper of orphans, but the containers of a pod have their own PID namespaces here (no
// shareProcessNamespace), so there is nothing to reap.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
