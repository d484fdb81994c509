package client

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/fairmesh/fairmesh/httpapi"
)

// errClosed fails the calls a closed Client holds or gets.
var errClosed = errors.New("fairmesh: client closed")

// batcher gathers decisions into POST /v1/allow. Its goroutine is owned
// by the Client and stops at Close.
type batcher struct {
	c    *Client
	in   chan *pendingDecision
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type pendingDecision struct {
	id  string
	n   int
	out chan decided // buffered 1
}

type decided struct {
	d   Decision
	err error
}

func newBatcher(c *Client) *batcher {
	b := &batcher{c: c, in: make(chan *pendingDecision, 4*c.opts.MaxBatch), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// decide queues one decision and waits for its batch's answer. A call
// whose ctx ends first returns ctx's error; its request may still have
// been decided (and counted) in the batch.
func (b *batcher) decide(ctx context.Context, id string, n int) (Decision, error) {
	p := &pendingDecision{id: id, n: n, out: make(chan decided, 1)}
	select {
	case <-b.stop:
		return Decision{}, errClosed
	default:
	}
	select {
	case b.in <- p:
	case <-b.stop:
		return Decision{}, errClosed
	case <-ctx.Done():
		return Decision{}, ctx.Err()
	}
	select {
	case r := <-p.out:
		return r.d, r.err
	case <-ctx.Done():
		return Decision{}, ctx.Err()
	case <-b.done: // closed after this was queued: answered, or never
		select {
		case r := <-p.out:
			return r.d, r.err
		default:
			return Decision{}, errClosed
		}
	}
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}

// run gathers the decisions that come within Batch of a batch's first
// (at most MaxBatch) and sends them, until Close; what is queued at Close
// fails.
func (b *batcher) run() {
	defer close(b.done)
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		var batch []*pendingDecision
		select {
		case <-b.stop:
			b.failQueued()
			return
		case p := <-b.in:
			batch = append(batch, p)
		}
		t.Reset(b.c.opts.Batch)
	gather:
		for len(batch) < b.c.opts.MaxBatch {
			select {
			case p := <-b.in:
				batch = append(batch, p)
			case <-t.C:
				break gather
			case <-b.stop:
				break gather
			}
		}
		t.Stop()
		b.send(batch)
	}
}

func (b *batcher) failQueued() {
	for {
		select {
		case p := <-b.in:
			p.out <- decided{err: errClosed}
		default:
			return
		}
	}
}

// send decides one batch; every call in it gets its own answer, or the
// batch's error.
func (b *batcher) send(batch []*pendingDecision) {
	req := httpapi.BatchRequest{Requests: make([]httpapi.BatchItem, len(batch))}
	for i, p := range batch {
		n := p.n
		req.Requests[i] = httpapi.BatchItem{Client: p.id, N: &n}
	}
	var res httpapi.BatchResponse
	// A batch is decisions: never retried.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	err := b.c.do(ctx, false, http.MethodPost, "/v1/allow", req, &res, b.c.opts.Timeout, http.StatusOK)
	cancel()
	if err == nil && len(res.Results) != len(batch) {
		err = errors.New("fairmesh: the node answered a batch with the wrong number of results")
	}
	for i, p := range batch {
		if err != nil {
			p.out <- decided{err: err}
			continue
		}
		p.out <- decided{d: decision(res.Results[i])}
	}
}
