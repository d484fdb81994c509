// Command memberlist-idle is a baseline for scripts/idle-cpu.sh: a
// memberlist member that does nothing else, configured as fairmesh
// configures memberlist (LAN timing, a gossip key, no compression) but on
// memberlist's own transport. What it costs idle is what any user of
// memberlist pays before fairmesh adds anything.
//
// Usage: memberlist-idle NAME PORT KEYFILE [JOIN,...]
package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashicorp/memberlist"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "memberlist-idle:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 || len(args) > 4 {
		return fmt.Errorf("usage: memberlist-idle NAME PORT KEYFILE [JOIN,...]")
	}
	port, err := strconv.Atoi(args[1])
	if err != nil {
		return fmt.Errorf("port %q: %w", args[1], err)
	}
	b64, err := os.ReadFile(args[2])
	if err != nil {
		return err
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b64)))
	if err != nil {
		return fmt.Errorf("key file: %w", err)
	}
	c := memberlist.DefaultLANConfig()
	c.Name = args[0]
	c.BindAddr, c.BindPort, c.AdvertisePort = "127.0.0.1", port, port
	c.SecretKey = key
	c.EnableCompression = false
	c.LogOutput = io.Discard
	m, err := memberlist.Create(c)
	if err != nil {
		return err
	}
	defer m.Shutdown()
	if len(args) == 4 {
		if _, err := m.Join(strings.Split(args[3], ",")); err != nil {
			return err
		}
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	return nil
}
