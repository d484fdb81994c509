package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/gossip"
)

// meshFlags are the flags of `fairmesh serve` that place the node in a
// mesh; they become a gossip.Config in meshConfig.
type meshFlags struct {
	bind             string
	advertise        string
	join             []string
	gossipKey        string
	gossipKeyFile    string
	gossipInterval   time.Duration
	quietInterval    time.Duration
	pushPullInterval time.Duration
	partition        string
	lease            time.Duration
	insecureGossip   bool
}

// Defaults of the mesh flags, from gossip.DefaultConfig. A node alone
// gossips on loopback (nobody else needs to reach it); one given --join
// listens on every interface.
const (
	defaultBind      = "127.0.0.1:7946"
	defaultJoinBind  = "0.0.0.0:7946"
	gossipKeyEnv     = "FAIRMESH_GOSSIP_KEY"
	maxKeyFileBytes  = 4 << 10 // a base64 key is 44 bytes; anything big is the wrong file
	generateKeyHint  = "generate one with: head -c 32 /dev/urandom | base64"
	advertiseHintFmt = "cannot tell which address to advertise to the other members (%v): " +
		"set --advertise IP:PORT to an address they can reach, or --bind to a specific IP"
)

// interfaceAddrs lists this host's addresses; a variable so that tests can
// give serve the interfaces of another machine.
var interfaceAddrs = net.InterfaceAddrs

// meshConfig turns the flags into the runtime's config, node holding the
// limiter's. It resolves a host name in --advertise (hence ctx) and reads
// the gossip key from --gossip-key, --gossip-key-file or $FAIRMESH_GOSSIP_KEY.
// Error messages never include the key. warnings are what serve must say at
// start and in /v1/status (gossip without encryption under
// --insecure-gossip).
//
// It never lets a node be joined by strangers or advertise an address
// nobody can reach by default: without --join, gossip binds loopback; a
// non-loopback bind without a key is refused unless --insecure-gossip; and
// binding every interface without --advertise advertises the host's one
// private or public IPv4 address, or is refused when there is not exactly
// one.
func meshConfig(ctx context.Context, f meshFlags, node fairmesh.Config) (cfg gossip.Config, warnings []string, err error) {
	cfg = gossip.DefaultConfig()
	cfg.NodeID = node.NodeID
	cfg.Node = node

	for _, p := range f.join {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, _, err := splitAddr(p, "--join", false); err != nil {
			return cfg, nil, err
		}
		cfg.Join = append(cfg.Join, p)
	}
	// A node told to join others must not serve alone meanwhile.
	cfg.Node.Seeds = len(cfg.Join)

	bind := f.bind
	if bind == "" {
		bind = defaultBind
		if len(cfg.Join) > 0 {
			bind = defaultJoinBind
		}
	}
	bindIP, bindPort, err := splitAddr(bind, "--bind", true)
	if err != nil {
		return cfg, nil, err
	}
	ip := net.ParseIP(bindIP)
	if ip == nil {
		return cfg, nil, fmt.Errorf("--bind %q: the host must be an IP address (0.0.0.0 for every interface)", bind)
	}
	cfg.BindAddr, cfg.BindPort = bindIP, bindPort

	if f.advertise != "" {
		host, port, err := splitAddr(f.advertise, "--advertise", false)
		if err != nil {
			return cfg, nil, err
		}
		adv, err := resolveIP(ctx, host)
		if err != nil {
			return cfg, nil, fmt.Errorf("--advertise %q: %w", f.advertise, err)
		}
		if adv.IsUnspecified() {
			return cfg, nil, fmt.Errorf("--advertise %q: other members cannot dial an unspecified address", f.advertise)
		}
		cfg.AdvertiseAddr, cfg.AdvertisePort = adv.String(), port
	} else if ip.IsUnspecified() {
		adv, err := soleHostIP()
		if err != nil {
			return cfg, nil, fmt.Errorf(advertiseHintFmt, err)
		}
		cfg.AdvertiseAddr, cfg.AdvertisePort = adv.String(), bindPort
	}

	key, err := gossipKey(f.gossipKey, f.gossipKeyFile)
	if err != nil {
		return cfg, nil, err
	}
	cfg.SecretKey = key
	if key == nil && !ip.IsLoopback() {
		if !f.insecureGossip {
			return cfg, nil, fmt.Errorf("--bind %s without a gossip key: anyone who reaches that port could join the mesh and change weights and limits; "+
				"give every node the same key with --gossip-key-file or $%s (%s), or --insecure-gossip to run without one", bind, gossipKeyEnv, generateKeyHint)
		}
		warnings = append(warnings, fmt.Sprintf("gossip on %s is not encrypted (--insecure-gossip): anyone who reaches it can join the mesh and change weights and limits", bind))
	}

	if f.gossipInterval <= 0 {
		return cfg, nil, errors.New("--gossip-interval must be positive")
	}
	cfg.GossipInterval = f.gossipInterval
	if f.pushPullInterval <= 0 {
		return cfg, nil, errors.New("--push-pull-interval must be positive")
	}
	cfg.PushPullInterval = f.pushPullInterval

	switch p := fairmesh.PartitionPolicy(f.partition); p {
	case fairmesh.Lease, fairmesh.Available:
		cfg.Node.Partition = p
	default:
		return cfg, nil, fmt.Errorf("--partition-policy %q: want lease or available", f.partition)
	}
	if f.lease <= 0 {
		return cfg, nil, errors.New("--lease must be positive")
	}
	cfg.Node.Lease = f.lease
	switch {
	case f.quietInterval < 0:
		return cfg, nil, errors.New("--quiet-interval must not be negative (0 turns the quiet pace off)")
	case f.quietInterval > maxQuietFlag:
		return cfg, nil, fmt.Errorf("--quiet-interval must be at most %v", maxQuietFlag)
	case f.quietInterval == 0 || min(f.quietInterval, f.lease/4) < f.gossipInterval:
		cfg.QuietInterval = -1 // off
	default:
		cfg.QuietInterval = min(f.quietInterval, f.lease/4) // keepalives renew the lease
	}
	return cfg, warnings, cfg.Validate()
}

// maxQuietFlag is the longest --quiet-interval: the pace travels in two
// bytes of milliseconds.
const maxQuietFlag = 65535 * time.Millisecond

// soleHostIP returns the one IPv4 address of this host that other hosts
// could dial (not loopback, link-local, multicast or unspecified), or an
// error naming the candidates when there are none or several: a guess
// between two networks, or of an IPv6 address the others do not route,
// makes a node that joins and is never reached back.
func soleHostIP() (net.IP, error) {
	addrs, err := interfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	var found []net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipn.IP.To4()
		if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
			continue
		}
		found = append(found, ip)
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, errors.New("this host has no IPv4 address other hosts could dial")
	}
	names := make([]string, len(found))
	for i, ip := range found {
		names[i] = ip.String()
	}
	return nil, fmt.Errorf("this host has several addresses: %s", strings.Join(names, ", "))
}

// splitAddr splits "host:port". A bare host (no port) is accepted unless
// needPort, with port 0 ("the bind port" for --advertise; memberlist's
// default for --join). ":port" leaves host empty, which --bind reads as
// every interface.
func splitAddr(s, flag string, needPort bool) (host string, port int, err error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		if needPort || s == "" || strings.Count(s, ":") == 1 {
			return "", 0, fmt.Errorf("%s %q: want HOST:PORT", flag, s)
		}
		return strings.Trim(s, "[]"), 0, nil // a bare host, or a bare IPv6 address
	}
	port, err = strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s %q: the port must be a number in [0, 65535]", flag, s)
	}
	if host == "" {
		if flag != "--bind" {
			return "", 0, fmt.Errorf("%s %q: want HOST:PORT", flag, s)
		}
		host = "0.0.0.0"
	}
	return host, port, nil
}

// resolveIP returns host as an IP, looking it up when it is a name
// (preferring IPv4, as memberlist's own address guess does).
func resolveIP(ctx context.Context, host string) (net.IP, error) {
	if ip := net.ParseIP(host); ip != nil {
		return ip, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if a.IP.To4() != nil {
			return a.IP, nil
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no address for %q", host)
	}
	return addrs[0].IP, nil
}

// gossipKey reads the mesh key: --gossip-key, else --gossip-key-file, else
// $FAIRMESH_GOSSIP_KEY; nil when none is given (an unencrypted mesh). The
// key is base64 of 16, 24 or 32 bytes. Errors name the source, never the
// key.
func gossipKey(flagKey, file string) ([]byte, error) {
	var src, text string
	switch {
	case flagKey != "" && file != "":
		return nil, errors.New("give --gossip-key or --gossip-key-file, not both")
	case flagKey != "":
		src, text = "--gossip-key", flagKey
	case file != "":
		src = "--gossip-key-file " + file
		b, err := readSmallFile(file, maxKeyFileBytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		text = string(b)
	default:
		src, text = "$"+gossipKeyEnv, os.Getenv(gossipKeyEnv)
		if text == "" {
			return nil, nil
		}
	}
	text = strings.TrimSpace(text)
	key, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		// The error says only at which byte the base64 broke.
		return nil, fmt.Errorf("%s is not valid base64 (%v); %s", src, err, generateKeyHint)
	}
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("%s decodes to %d bytes, want 16, 24 or 32; %s", src, n, generateKeyHint)
	}
	return key, nil
}

func readSmallFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes: not a key file", limit)
	}
	return b, nil
}
