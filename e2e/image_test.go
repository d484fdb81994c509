//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The packaged image (deploy/Dockerfile) builds from the repository with
// no image to pull, runs the node as a non-root user with its data
// directory writable, and serves: /healthz, /readyz and a decision answer
// through the published port, and the node saves its config in the volume.
func TestPackagedImageServes(t *testing.T) {
	if _, err := docker("info", "--format", "{{.ServerVersion}}"); err != nil {
		t.Fatalf("e2e: docker is not usable: %v", err)
	}
	build := exec.Command("go", "build", "-trimpath", "-o", "deploy/fairmesh", "./cmd/fairmesh")
	build.Dir = ".."
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the binary: %v\n%s", err, out)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "fme2e-image-" + hex.EncodeToString(b[:])
	if out, err := docker("build", "-q", "-f", "../deploy/Dockerfile", "-t", name, ".."); err != nil {
		t.Fatalf("deploy/Dockerfile does not build: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_, _ = docker("rm", "-f", "-v", name)
		_, _ = docker("rmi", "-f", name)
	})
	if _, err := docker("run", "-d", "--name", name, "-p", "127.0.0.1::8080", name, "--admin-token", "tok"); err != nil {
		t.Fatal(err)
	}
	user, err := docker("inspect", "--format", "{{.Config.User}}", name)
	if err != nil || user != "65532:65532" {
		t.Fatalf("the container runs as %q (%v), want the non-root 65532:65532", user, err)
	}
	port, err := docker("port", name, "8080/tcp")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + strings.TrimSpace(strings.Split(port, "\n")[0])
	get := func(path string) (int, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, err := get("/readyz")
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := docker("logs", name)
			t.Fatalf("the node in the image never became ready (last: %d, %v)\n%s", code, err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, err := get("/healthz"); err != nil || code != http.StatusOK {
		t.Fatalf("/healthz: %d, %v", code, err)
	}
	if code, err := get("/v1/allow/someone"); err != nil || code != http.StatusOK {
		t.Fatalf("/v1/allow: %d, %v", code, err)
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/v1/clients/someone/weight", strings.NewReader(`{"weight":2}`))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a config write: %v, %v", resp, err)
	}
	resp.Body.Close()
	// A clean stop saves the config into the volume, as the non-root user.
	if _, err := docker("stop", name); err != nil {
		t.Fatal(err)
	}
	logs, _ := docker("logs", name)
	for _, want := range []string{"fairmesh serving", "data_dir=/var/lib/fairmesh", "level=INFO msg=\"shutting down\""} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "level=ERROR") {
		t.Errorf("a clean stop logged an error:\n%s", logs)
	}
	out, err := docker("cp", name+":/var/lib/fairmesh/config.json", "-")
	if err != nil || !strings.Contains(out, `"client":"someone"`) {
		t.Fatalf("the saved config (%v):\n%s", err, out)
	}
}
