// Command pstest serves Google's in-memory Pub/Sub fake (the pstest package of the Go client
// library, which has no command of its own) on a loopback port, so the Node client can reach it
// through PUBSUB_EMULATOR_HOST. It prints one ready line with the address once it listens and
// stops on SIGINT or SIGTERM.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"cloud.google.com/go/pubsub/v2/pstest"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 0, "port to listen on (0: any free port, printed in the ready line)")
	flag.Parse()

	server := pstest.NewServerWithAddress(net.JoinHostPort(*host, strconv.Itoa(*port)))
	fmt.Printf("pstest listening on %s\n", server.Addr)

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	if err := server.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "pstest: close:", err)
		os.Exit(1)
	}
}
