//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The policy under test and its flags, in one place: the partition policy
// is being replaced, and these are what to adjust when it is.
const (
	// defaultPolicy is passed as --partition-policy to the default cluster;
	// "" runs the binary's default.
	defaultPolicy = ""
	// availablePolicy is the policy that promises only "k sides admit at
	// most k times the allowance".
	availablePolicy = "available"
	// lease is the default policy's lease (serve's --lease default): the
	// minority of a split serves what it holds for that long.
	lease = 10 * time.Second
	// leaseWait is how long after a split is in place the majority side is
	// expected to have reclaimed the unreachable members' shares (the
	// lease, the 500 ms clock guard and a window for the new claims): the
	// majority share is measured, and held to majorityShare, from then on.
	leaseWait     = lease + 1500*time.Millisecond
	majorityShare = 0.95
)

// policyFlags are extra serve flags of the policy under test: none, the
// defaults are what is tested.
var policyFlags = []string{}

// The mesh under test.
const (
	nodes          = 5
	capacity       = 1000
	period         = time.Second
	gossipPort     = 7946
	apiPort        = 8080
	gossipInterval = "100ms"
	// pushPullInterval is short so that a healed partition's members find
	// each other again within seconds, not memberlist's default 15 s.
	pushPullInterval = "2s"
	// readyTimeout bounds every wait for the mesh to form or re-form.
	readyTimeout = 60 * time.Second
	// dockerTimeout bounds every docker command.
	dockerTimeout = 60 * time.Second
)

// harness owns what one run creates in Docker: an image, two networks and
// the containers. Everything it creates is removed by t.Cleanup, failures
// included.
type harness struct {
	t       *testing.T
	run     string // unique per run, in every name
	dir     string // build context, key files, data dirs
	image   string
	gossip  network
	api     network
	hasData bool // serve lists --data-dir
	key     string
	mu      sync.Mutex
	names   []string // containers created
}

type network struct {
	name   string
	prefix string // "10.x.y.": containers get prefix+(10+i)
}

func (n network) ip(i int) string { return fmt.Sprintf("%s%d", n.prefix, 10+i) }

// docker runs a docker command, bounded by dockerTimeout, and returns its
// combined output.
func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dockerTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), nil
}

// newHarness checks Docker, builds the binary and the image and creates
// the networks. It fails the test (never skips) when Docker is unusable:
// a fault suite that silently does not run proves nothing.
func newHarness(t *testing.T) *harness {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("e2e: docker is not installed: %v", err)
	}
	if out, err := docker("info", "--format", "{{.ServerVersion}}"); err != nil {
		t.Fatalf("e2e: docker is not usable: %v", err)
	} else {
		t.Logf("docker engine %s", out)
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Fatalf("e2e: nsenter is needed to run iptables in the containers' namespaces: %v", err)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Fatalf("e2e: iptables is needed for the network faults: %v", err)
	}
	var rb [4]byte
	rand.Read(rb[:])
	h := &harness{t: t, run: fmt.Sprintf("fme2e-%x", rb), dir: t.TempDir()}
	h.image = h.run + ":latest"

	// The binary: static, for a FROM scratch image.
	bin := filepath.Join(h.dir, "fairmesh")
	build := exec.Command("go", "build", "-o", bin, "./cmd/fairmesh")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("e2e: building fairmesh: %v\n%s", err, out)
	}
	help, _ := exec.Command(bin, "serve", "--help").CombinedOutput()
	h.hasData = bytes.Contains(help, []byte("--data-dir"))
	for _, f := range policyFlags {
		name, _, _ := strings.Cut(f, "=")
		if strings.HasPrefix(name, "--") && !bytes.Contains(help, []byte(name)) {
			t.Fatalf("e2e: serve has no flag %s (policyFlags)", name)
		}
	}
	if err := os.WriteFile(filepath.Join(h.dir, "Dockerfile"),
		[]byte("FROM scratch\nCOPY fairmesh /fairmesh\nENTRYPOINT [\"/fairmesh\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.cleanup)
	if _, err := docker("build", "-q", "-t", h.image, h.dir); err != nil {
		t.Fatalf("e2e: building the image: %v", err)
	}

	key := make([]byte, 32)
	rand.Read(key)
	h.key = filepath.Join(h.dir, "gossip.key")
	if err := os.WriteFile(h.key, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		t.Fatal(err)
	}
	h.gossip = h.createNetwork("gossip")
	h.api = h.createNetwork("api")
	return h
}

// createNetwork creates a private bridge network with a /24 of its own,
// trying a few random subnets: another network may hold the first.
func (h *harness) createNetwork(role string) network {
	name := h.run + "-" + role
	var last error
	for range 8 {
		var b [2]byte
		rand.Read(b[:])
		prefix := fmt.Sprintf("10.%d.%d.", 100+int(b[0])%150, b[1])
		_, err := docker("network", "create", "--driver", "bridge", "--subnet", prefix+"0/24", name)
		if err == nil {
			return network{name: name, prefix: prefix}
		}
		last = err
	}
	h.t.Fatalf("e2e: creating network %s: %v", name, last)
	return network{}
}

func (h *harness) cleanup() {
	h.mu.Lock()
	names := slices.Clone(h.names)
	h.mu.Unlock()
	if len(names) > 0 {
		if _, err := docker(append([]string{"rm", "-f", "-v"}, names...)...); err != nil {
			h.t.Logf("cleanup: %v", err)
		}
	}
	for _, n := range []network{h.gossip, h.api} {
		if n.name != "" {
			if _, err := docker("network", "rm", n.name); err != nil {
				h.t.Logf("cleanup: %v", err)
			}
		}
	}
	if _, err := docker("rmi", "-f", h.image); err != nil {
		h.t.Logf("cleanup: %v", err)
	}
}

// node is one container.
type node struct {
	id        string // n1…
	idx       int
	container string
	gossipIP  string
	apiIP     string
	base      string // http://apiIP:8080
}

// nodeSpec says how to start a node.
type nodeSpec struct {
	idx    int
	policy string // --partition-policy; "" the default
	key    string // key file on the host
	join   []string
}

// createNode creates and starts a container for spec. The container keeps
// its addresses across docker kill/stop and start.
func (h *harness) createNode(spec nodeSpec) (*node, error) {
	n := &node{
		id:        fmt.Sprintf("n%d", spec.idx),
		idx:       spec.idx,
		container: fmt.Sprintf("%s-n%d", h.run, spec.idx),
		gossipIP:  h.gossip.ip(spec.idx),
		apiIP:     h.api.ip(spec.idx),
	}
	n.base = fmt.Sprintf("http://%s:%d", n.apiIP, apiPort)
	args := []string{"create", "--name", n.container, "--network", h.gossip.name, "--ip", n.gossipIP,
		"-v", spec.key + ":/etc/fairmesh/gossip.key:ro"}
	serve := []string{"serve", "--node-id", n.id,
		"--bind", fmt.Sprintf("%s:%d", n.gossipIP, gossipPort),
		"--advertise", fmt.Sprintf("%s:%d", n.gossipIP, gossipPort),
		"--http", fmt.Sprintf("0.0.0.0:%d", apiPort),
		"--capacity", fmt.Sprint(capacity), "--capacity-period", period.String(),
		"--gossip-key-file", "/etc/fairmesh/gossip.key",
		"--gossip-interval", gossipInterval, "--push-pull-interval", pushPullInterval,
	}
	if len(spec.join) > 0 {
		serve = append(serve, "--join", strings.Join(spec.join, ","))
	}
	if spec.policy != "" {
		serve = append(serve, "--partition-policy", spec.policy)
	}
	serve = append(serve, policyFlags...)
	if h.hasData {
		data := filepath.Join(h.dir, "data-"+n.id)
		if err := os.MkdirAll(data, 0o755); err != nil {
			return nil, err
		}
		args = append(args, "-v", data+":/data")
		serve = append(serve, "--data-dir", "/data")
	}
	args = append(args, h.image)
	args = append(args, serve...)
	if _, err := docker(args...); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.names = append(h.names, n.container)
	h.mu.Unlock()
	if _, err := docker("network", "connect", "--ip", n.apiIP, h.api.name, n.container); err != nil {
		return nil, err
	}
	if _, err := docker("start", n.container); err != nil {
		return nil, err
	}
	return n, nil
}

// removeNode removes n's container.
func (h *harness) removeNode(n *node) error {
	_, err := docker("rm", "-f", "-v", n.container)
	h.mu.Lock()
	h.names = slices.DeleteFunc(h.names, func(s string) bool { return s == n.container })
	h.mu.Unlock()
	return err
}

// cluster is the five nodes of one mesh.
type cluster struct {
	h      *harness
	policy string
	nodes  []*node
}

// startCluster starts nodes n1…n5, each joining all the others, and waits
// until every one sees all five alive.
func (h *harness) startCluster(t *testing.T, policy string) *cluster {
	t.Helper()
	c := &cluster{h: h, policy: policy}
	for i := 1; i <= nodes; i++ {
		var join []string
		for j := 1; j <= nodes; j++ {
			if j != i {
				join = append(join, fmt.Sprintf("%s:%d", h.gossip.ip(j), gossipPort))
			}
		}
		n, err := h.createNode(nodeSpec{idx: i, policy: policy, key: h.key, join: join})
		if err != nil {
			t.Fatalf("e2e: starting n%d: %v", i, err)
		}
		c.nodes = append(c.nodes, n)
	}
	if err := c.waitFormed(readyTimeout); err != nil {
		t.Fatalf("e2e: the mesh did not form: %v\n%s", err, c.logs())
	}
	return c
}

// joinAll is every member's gossip address.
func (c *cluster) joinAll() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, fmt.Sprintf("%s:%d", n.gossipIP, gossipPort))
	}
	return out
}

// remove removes every container of the cluster.
func (c *cluster) remove() {
	for _, n := range c.nodes {
		if err := c.h.removeNode(n); err != nil {
			c.h.t.Logf("removing %s: %v", n.id, err)
		}
	}
}

// logs returns the tail of every node's log, for a failure message.
func (c *cluster) logs() string {
	var b strings.Builder
	for _, n := range c.nodes {
		out, _ := exec.Command("docker", "logs", "--tail", "15", n.container).CombinedOutput()
		fmt.Fprintf(&b, "--- %s\n%s", n.id, out)
	}
	return b.String()
}

// api is the HTTP client for the suite's own calls (not the load): short
// timeouts, a paused node must not stall the suite.
var api = &http.Client{Timeout: 2 * time.Second}

func getJSON(url string, v any) error {
	resp, err := api.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

func putJSON(url string, body any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := api.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s: %s: %s", url, resp.Status, out)
	}
	return nil
}

type memberList struct {
	NodeID  string `json:"node_id"`
	Members []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"members"`
}

// alive returns the members n sees alive, itself included.
func (n *node) alive() ([]string, error) {
	var ml memberList
	if err := getJSON(n.base+"/v1/members", &ml); err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ml.Members {
		if m.State == "alive" {
			out = append(out, m.ID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// waitFormed polls until every node answers and sees every node alive.
func (c *cluster) waitFormed(timeout time.Duration) error {
	var want []string
	for _, n := range c.nodes {
		want = append(want, n.id)
	}
	slices.Sort(want)
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		last = nil
		for _, n := range c.nodes {
			got, err := n.alive()
			if err == nil && !slices.Equal(got, want) {
				err = fmt.Errorf("%s sees %v alive", n.id, got)
			}
			if err != nil {
				last = err
				break
			}
		}
		if last == nil {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("after %v: %w", timeout, last)
}

type clientList struct {
	Clients []struct {
		ID     string `json:"id"`
		Config struct {
			Weight     int    `json:"weight"`
			Limited    bool   `json:"limited"`
			Rate       *int   `json:"rate"`
			Period     string `json:"period"`
			Configured bool   `json:"configured"`
		} `json:"config"`
	} `json:"clients"`
	Truncated bool `json:"truncated"`
}

// configs returns the configured clients as n reports them.
func (n *node) configs() (map[string]Config, error) {
	var cl clientList
	if err := getJSON(n.base+"/v1/clients?limit=100000", &cl); err != nil {
		return nil, err
	}
	if cl.Truncated {
		return nil, fmt.Errorf("%s: client list truncated", n.id)
	}
	out := map[string]Config{}
	for _, c := range cl.Clients {
		if !c.Config.Configured {
			continue // a default config: tracked because of traffic, not agreed
		}
		cfg := Config{Weight: c.Config.Weight, Limited: c.Config.Limited, Period: c.Config.Period}
		if c.Config.Rate != nil {
			cfg.Rate = *c.Config.Rate
		}
		out[c.ID] = cfg
	}
	return out, nil
}

// snapshots returns every node's configured clients.
func (c *cluster) snapshots() (map[string]map[string]Config, error) {
	out := map[string]map[string]Config{}
	for _, n := range c.nodes {
		s, err := n.configs()
		if err != nil {
			return nil, err
		}
		out[n.id] = s
	}
	return out, nil
}

// settledConfigs polls until every node reports the same configs and the
// acknowledged writes (or until timeout), then returns the last snapshots:
// gossip needs a moment after a heal, the checks judge what it reached.
func (c *cluster) settledConfigs(acked []Write, timeout time.Duration) (map[string]map[string]Config, error) {
	deadline := time.Now().Add(timeout)
	var snaps map[string]map[string]Config
	var err error
	for {
		snaps, err = c.snapshots()
		if err == nil && len(CheckConfigsAgree(snaps)) == 0 && len(CheckAcked(acked, snaps)) == 0 {
			return snaps, nil
		}
		if !time.Now().Before(deadline) {
			return snaps, err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// pid is the container's init PID, for nsenter.
func (n *node) pid() (string, error) {
	out, err := docker("inspect", "-f", "{{.State.Pid}}", n.container)
	if err != nil {
		return "", err
	}
	if out == "0" || out == "" {
		return "", fmt.Errorf("%s is not running", n.id)
	}
	return out, nil
}

// iptables runs iptables in n's network namespace.
func (n *node) iptables(args ...string) error {
	pid, err := n.pid()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", pid, "-n", "iptables", "-w", "5"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: iptables %s: %w: %s", n.id, strings.Join(args, " "), err, out)
	}
	return nil
}

// flush removes every filter rule of n's namespace: the suite's rules are
// the only ones there (Docker's own live in the nat table).
func (n *node) flush() error {
	if err := n.iptables("-F", "INPUT"); err != nil {
		return err
	}
	return n.iptables("-F", "OUTPUT")
}
