//go:build ui

package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
	"github.com/fairmesh/fairmesh/gossip"
	"github.com/fairmesh/fairmesh/httpapi"
)

// The dashboard in a real browser (headless Chromium, which .ci/run
// installs with scripts/install-chromium.sh; the test fails, never skips,
// without it), against node 1 of a 3-node mesh serving four clients of
// weights 3, 2, 1 and 0 that all ask for more than the capacity at every
// node: the page draws a line for
// every client it is fed, and the screenshot shows each client's colour.
// FAIRMESH_UI_SCREENSHOT=FILE keeps the screenshot (the README's).
func TestDashboardDrawsTheClientsItIsFed(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Fatal("no Chromium: run scripts/install-chromium.sh (Debian's chromium package)")
	}
	// A mesh of three on loopback; the dashboard is node 1's.
	var nodes []*fairmesh.Node
	var first string
	for i := range 3 {
		cfg := gossip.DefaultConfig()
		cfg.NodeID = fmt.Sprintf("dash-%d", i+1)
		cfg.BindAddr, cfg.BindPort = "127.0.0.1", 0
		cfg.Node = fairmesh.Config{Capacity: 1000}
		if i > 0 {
			cfg.Join = []string{first}
		}
		m, err := gossip.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if i == 0 {
			first = m.Addr()
		}
		nodes = append(nodes, m.Node())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		alive := 0
		for _, m := range nodes[0].Status().Members {
			if m.State == fairmesh.MemberAlive {
				alive++
			}
		}
		if alive == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mesh of three did not form: %v", nodes[0].Status().Members)
		}
		time.Sleep(50 * time.Millisecond)
	}
	node := nodes[0]
	weights := map[string]int{"gold": 3, "silver": 2, "bronze": 1, "scavenger": 0}
	for id, w := range weights {
		if err := node.UpdateClientWeight(id, w); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(httpapi.New(node, httpapi.Options{}))
	defer srv.Close()

	// Traffic: each client asks 1 500 a second of each node, until the
	// test ends.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	for i, id := range []string{"gold", "silver", "bronze", "scavenger", "gold", "silver", "bronze", "scavenger", "gold", "silver", "bronze", "scavenger"} {
		n := nodes[i/4]
		wg.Go(func() {
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					n.AllowN(id, 1)
					n.AllowN(id, 1)
					n.AllowN(id, 1)
				}
			}
		})
	}
	time.Sleep(4 * time.Second) // whole windows with decisions in them

	run := func(extra ...string) []byte {
		t.Helper()
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--window-size=1280,1000", "--virtual-time-budget=30000"}, extra...)
		args = append(args, srv.URL+"/ui/?span=30s")
		cctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(cctx, browser, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", browser, err, errb.String())
		}
		return out.Bytes()
	}

	dom := string(run("--dump-dom"))
	if m := regexp.MustCompile(`data-polls="(\d+)"`).FindStringSubmatch(dom); m == nil || m[1] == "0" || m[1] == "1" {
		t.Fatalf("the page did not poll the node twice: %v\n%s", m, dom)
	}
	for id := range weights {
		re := regexp.MustCompile(`<path[^>]*class="admitted"[^>]*data-client="` + id + `"[^>]*d="M[0-9.]+,[0-9.]+L[0-9.,L]+"`)
		if !re.MatchString(dom) {
			t.Errorf("no line of two points or more for %s in the chart", id)
		}
		if !strings.Contains(dom, `data-client="`+id+`"`) || !strings.Contains(dom, id+" (weight "+fmt.Sprint(weights[id])+")") {
			t.Errorf("no legend entry for %s", id)
		}
	}
	if strings.Contains(dom, "cannot reach the node") {
		t.Error("the page says it cannot reach the node")
	}

	file := t.TempDir() + "/dashboard.png"
	run("--screenshot=" + file)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	// The legend gives clients the palette's colours in ID order.
	palette := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}
	for i, id := range []string{"bronze", "gold", "scavenger", "silver"} {
		if n := countColor(img, palette[i]); n < 50 {
			t.Errorf("%s's colour %s covers %d pixels of the screenshot: its line and swatch are not drawn", id, palette[i], n)
		}
	}
	if keep := os.Getenv("FAIRMESH_UI_SCREENSHOT"); keep != "" {
		b, _ := os.ReadFile(file)
		if err := os.WriteFile(keep, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func countColor(img image.Image, hex string) int {
	var want [3]uint32
	fmt.Sscanf(hex, "#%02x%02x%02x", &want[0], &want[1], &want[2])
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 == want[0] && g>>8 == want[1] && bl>>8 == want[2] {
				n++
			}
		}
	}
	return n
}
