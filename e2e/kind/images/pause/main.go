// Command pause holds a pod sandbox's namespaces open: it sleeps until SIGTERM
// or SIGINT and exits 0, like the pause image kubeadm expects, built locally.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
