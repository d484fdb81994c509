package fairmesh_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/fairmesh/fairmesh"
)

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines left, %d before", g, before)
	}
}

// Queues are bounded: past the bound Wait fails at once; a request whose
// context ends leaves the queue, is not admitted, and leaves nothing
// running behind it.
func TestWaitIsBoundedAndCancellable(t *testing.T) {
	before := runtime.NumGoroutine()
	n, err := fairmesh.NewNode(fairmesh.Config{NodeID: "n1", MaxWaitingPerClient: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.UpdateClientRateLimit("c", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := n.Wait(context.Background(), "c", 1); err != nil {
		t.Fatalf("the first request waited: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for i := range 2 {
		go func() { errs <- n.Wait(ctx, "c", 1) }()
		deadline := time.Now().Add(5 * time.Second)
		for n.Waiting() != i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests waiting, want %d", n.Waiting(), i+1)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := n.Wait(context.Background(), "c", 1); !errors.Is(err, fairmesh.ErrQueueFull) {
		t.Fatalf("a third Wait with two queued: %v", err)
	}
	// Another client has its own line.
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	if err := n.Wait(short, "other", 1); err != nil {
		t.Errorf("another client waited behind c's full line: %v", err)
	}
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled Wait returned %v", err)
		}
	}
	st, err := n.Client("c")
	if err != nil || st.Admitted != 1 {
		t.Errorf("after the cancelled Waits c has %d admitted (%v), want 1", st.Admitted, err)
	}
	waitGoroutines(t, before)
}

// A request no window could admit, or an invalid one, fails at once.
func TestWaitRefusesWhatNoWindowAdmits(t *testing.T) {
	n, err := fairmesh.NewNode(fairmesh.Config{NodeID: "n1", Capacity: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.UpdateClientRateLimit("c", 10, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id string
		k  int
	}{{"c", 11}, {"d", 101}, {"c", 0}, {"", 1}, {"bad\x00id", 1}} {
		// Had it waited, its deadline would end it: DeadlineExceeded.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := n.Wait(ctx, tc.id, tc.k)
		cancel()
		if !errors.Is(err, fairmesh.ErrNeverAdmitted) {
			t.Errorf("Wait(%q, %d) = %v, want ErrNeverAdmitted at once", tc.id, tc.k, err)
		}
	}
}

// Requests that wait are admitted in later windows, each window within the
// client's limit, in the order they came.
func TestWaitAdmitsEachWindowWithinTheLimit(t *testing.T) {
	before := runtime.NumGoroutine()
	n, err := fairmesh.NewNode(fairmesh.Config{NodeID: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.UpdateClientRateLimit("c", 5, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var mu sync.Mutex
	perWindow := map[time.Time]int{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := n.WaitDecide(ctx, "c", 1)
			if err != nil {
				t.Errorf("Wait: %v", err)
				return
			}
			mu.Lock()
			perWindow[d.WindowStart]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(perWindow) < 4 {
		t.Errorf("20 requests at 5 a window admitted in %d windows", len(perWindow))
	}
	for w, c := range perWindow {
		if c > 5 {
			t.Errorf("window %v admitted %d, limit 5", w, c)
		}
	}
	waitGoroutines(t, before)
}
