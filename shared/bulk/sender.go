package bulk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"
)

// Transport sends one _bulk request body and returns the response. An error
// means no HTTP response was received (connection refused, reset, timeout):
// the request's items are retried.
type Transport interface {
	Bulk(ctx context.Context, body []byte) (*Response, error)
}

// Response is an HTTP response to a _bulk request.
type Response struct {
	Status     int
	RetryAfter time.Duration // the Retry-After header, 0 when absent
	Body       []byte
}

// Options bound and pace the requests; zero values take the defaults.
type Options struct {
	MaxBytes       int           // per request body; default 5 MiB (domains accept 10 MiB and up)
	MaxDocs        int           // per request; default 5000
	Concurrency    int           // requests in flight; default 2
	InitialBackoff time.Duration // first retry waits about this long; default 200ms
	MaxBackoff     time.Duration // cap of the exponential backoff; default 10s
	// Jitter returns a number in [0,1); default math/rand/v2.Float64.
	Jitter func() float64
}

// Defaults.
const (
	DefaultMaxBytes       = 5 << 20
	DefaultMaxDocs        = 5000
	DefaultConcurrency    = 2
	DefaultInitialBackoff = 200 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
)

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxDocs <= 0 {
		o.MaxDocs = DefaultMaxDocs
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff < o.InitialBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.InitialBackoff)
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	return o
}

// State is where an item ended up.
type State uint8

// Item states.
const (
	// Pending: not indexed; the last attempt failed with a retryable error and
	// no time was left to try again. The caller dead-letters it or fails.
	Pending State = iota
	Created       // 201: indexed now
	Exists        // 409: a document with this _id is already there: indexed before
	Failed        // a permanent error (mapping conflict, parse error, too large)
)

func (s State) String() string {
	switch s {
	case Created:
		return "created"
	case Exists:
		return "exists"
	case Failed:
		return "failed"
	}
	return "pending"
}

// Outcome is the final word on one item.
type Outcome struct {
	State    State
	Status   int    // last HTTP status for the item (0: never answered)
	Type     string // last error.type
	Reason   string // last error.reason
	Attempts int    // times the item was sent
}

// Report sums up one Send.
type Report struct {
	Outcomes                         []Outcome // one per batch item
	Created, Exists, Failed, Pending int
	Retried                          int // item re-sends after a retryable failure
	Requests                         int // _bulk round trips
	Throttled                        int // responses that throttled (429 or rejected items)
	Splits                           int // requests split after a 413
	BytesSent                        int64
	Latency                          time.Duration // sum over requests
	Rounds                           int
}

// Sender sends batches through a Transport. It is safe for concurrent use.
type Sender struct {
	t    Transport
	o    Options
	bufs sync.Pool // *[]byte request bodies for non-contiguous retries
	ps   fastjson.ParserPool
}

// NewSender returns a sender.
func NewSender(t Transport, o Options) *Sender {
	return &Sender{t: t, o: o.withDefaults()}
}

// Options returns the options in force.
func (s *Sender) Options() Options { return s.o }

// round is the shared state of one round of requests.
type round struct {
	mu         sync.Mutex
	retryAfter time.Duration
	rep        *Report
}

// Send ships every item of b and returns their outcomes. It retries only
// the items that failed with a retryable error, waiting with exponential
// backoff and jitter (at least any Retry-After the server sent), and never
// starts a wait or a request that would end after stopAt: what is still
// retryable then is reported Pending. ctx cancels everything.
func (s *Sender) Send(ctx context.Context, b *Batch, stopAt time.Time) *Report {
	n := b.Len()
	rep := &Report{Outcomes: make([]Outcome, n)}
	pending := make([]int, n)
	for i := range pending {
		pending[i] = i
	}
	reqCtx, cancel := context.WithDeadline(ctx, stopAt)
	defer cancel()
	for attempt := 1; len(pending) > 0; attempt++ {
		if attempt > 1 {
			rep.Retried += len(pending)
		}
		rep.Rounds++
		r := &round{rep: rep}
		s.runRound(reqCtx, b, pending, r)
		next := pending[:0]
		for _, i := range pending {
			if rep.Outcomes[i].State == Pending {
				next = append(next, i)
			}
		}
		pending = next
		if len(pending) == 0 || ctx.Err() != nil {
			break
		}
		wait := s.backoff(attempt)
		if r.retryAfter > wait {
			wait = r.retryAfter
		}
		if !time.Now().Add(wait).Before(stopAt) {
			break
		}
		if !sleep(reqCtx, wait) {
			break
		}
	}
	for i := range rep.Outcomes {
		switch rep.Outcomes[i].State {
		case Created:
			rep.Created++
		case Exists:
			rep.Exists++
		case Failed:
			rep.Failed++
		default:
			rep.Pending++
		}
	}
	return rep
}

// backoff is the wait before retry round attempt+1: exponential, capped,
// with "equal jitter" (half fixed, half random) so waits still grow.
func (s *Sender) backoff(attempt int) time.Duration {
	d := s.o.InitialBackoff
	for k := 1; k < attempt && d < s.o.MaxBackoff; k++ {
		d *= 2
	}
	d = min(d, s.o.MaxBackoff)
	return d/2 + time.Duration(s.o.Jitter()*float64(d/2))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runRound sends the pending items in bounded requests, Concurrency at a time.
func (s *Sender) runRound(ctx context.Context, b *Batch, pending []int, r *round) {
	chunks := s.chunk(b, pending)
	if len(chunks) == 1 || s.o.Concurrency == 1 {
		for _, c := range chunks {
			s.sendChunk(ctx, b, c, r)
		}
		return
	}
	work := make(chan []int)
	var wg sync.WaitGroup
	for w := 0; w < min(s.o.Concurrency, len(chunks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				s.sendChunk(ctx, b, c, r)
			}
		}()
	}
	for _, c := range chunks {
		work <- c
	}
	close(work)
	wg.Wait()
}

// chunk splits idx into requests of at most MaxBytes and MaxDocs. An item
// larger than MaxBytes travels alone.
func (s *Sender) chunk(b *Batch, idx []int) [][]int {
	var out [][]int
	start, size := 0, 0
	for k, i := range idx {
		sz := b.size(i)
		if k > start && (size+sz > s.o.MaxBytes || k-start >= s.o.MaxDocs) {
			out = append(out, idx[start:k:k])
			start, size = k, 0
		}
		size += sz
	}
	if start < len(idx) {
		out = append(out, idx[start:])
	}
	return out
}

// sendChunk sends one request and records its items' outcomes; it splits the
// request in halves when the server refuses it as a whole (413, or a 400 for
// the body) so that only the offending document fails.
func (s *Sender) sendChunk(ctx context.Context, b *Batch, idx []int, r *round) {
	for _, i := range idx {
		r.rep.Outcomes[i].Attempts++
	}
	var body []byte
	var pooled *[]byte
	if contiguous(idx) {
		body = b.buf[b.items[idx[0]].start:b.items[idx[len(idx)-1]].end]
	} else {
		pooled, _ = s.bufs.Get().(*[]byte)
		if pooled == nil {
			pooled = new([]byte)
		}
		body = b.appendItems((*pooled)[:0], idx)
	}
	start := time.Now()
	resp, err := s.t.Bulk(ctx, body)
	lat := time.Since(start)
	if pooled != nil {
		*pooled = body[:0]
		s.bufs.Put(pooled)
	}
	r.mu.Lock()
	r.rep.Requests++
	r.rep.BytesSent += int64(len(body))
	r.rep.Latency += lat
	r.mu.Unlock()

	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			s.markCutOff(r, idx, err)
			return
		}
		s.markAll(r, idx, 0, "connection_error", err.Error())
		return
	}
	p := s.ps.Get()
	defer s.ps.Put(p)
	switch {
	case resp.Status == 200:
		results := make([]ItemResult, len(idx))
		if err := parseResponse(p, resp.Body, results); err != nil {
			s.markAll(r, idx, resp.Status, "invalid_response", err.Error())
			return
		}
		throttled := false
		for k, i := range idx {
			o := &r.rep.Outcomes[i]
			res := results[k]
			o.Status, o.Type, o.Reason = res.Status, res.Type, res.Reason
			switch {
			case res.Status >= 200 && res.Status < 300:
				o.State, o.Type, o.Reason = Created, "", ""
			case res.Status == 409:
				o.State, o.Type, o.Reason = Exists, "", ""
			case Retryable(res.Status, res.Type):
				throttled = throttled || res.Status == 429
				o.State = Pending
			default:
				o.State = Failed
			}
		}
		if throttled {
			r.mu.Lock()
			r.rep.Throttled++
			r.mu.Unlock()
		}
	case resp.Status == 413 || resp.Status == 400:
		if len(idx) > 1 {
			r.mu.Lock()
			r.rep.Splits++
			r.mu.Unlock()
			half := len(idx) / 2
			for _, i := range idx {
				r.rep.Outcomes[i].Attempts-- // a split is a re-send, not a new attempt
			}
			s.sendChunk(ctx, b, idx[:half:half], r)
			s.sendChunk(ctx, b, idx[half:], r)
			return
		}
		typ, reason := requestError(p, resp.Status, resp.Body)
		if resp.Status == 413 {
			reason = fmt.Sprintf("document of %d bytes exceeds the cluster's http.max_content_length: %s", len(body), reason)
		}
		o := &r.rep.Outcomes[idx[0]]
		o.State, o.Status, o.Type, o.Reason = Failed, resp.Status, typ, reason
	default:
		// 429, 5xx, and request-level failures that are not about the
		// documents (401/403 credentials, 404 wrong endpoint): retry them
		// all; at the deadline they are dead-lettered or the invocation fails.
		typ, reason := requestError(p, resp.Status, resp.Body)
		if resp.Status == 429 {
			r.mu.Lock()
			r.rep.Throttled++
			r.mu.Unlock()
		}
		if resp.RetryAfter > 0 {
			r.mu.Lock()
			r.retryAfter = max(r.retryAfter, resp.RetryAfter)
			r.mu.Unlock()
		}
		s.markAll(r, idx, resp.Status, typ, reason)
	}
}

// markCutOff records a request the invocation's deadline interrupted. An item
// the server already answered keeps that answer: "503 node_not_connected" says
// more to whoever reads the dead letter than the cut-off of the last try.
func (s *Sender) markCutOff(r *round, idx []int, err error) {
	const cut = "no response before the invocation's deadline"
	for _, i := range idx {
		o := &r.rep.Outcomes[i]
		o.State = Pending
		if o.Status != 0 {
			if !strings.HasSuffix(o.Reason, cut) {
				o.Reason += "; then " + cut
			}
			continue
		}
		o.Type, o.Reason = "connection_error", cut+": "+err.Error()
	}
}

func (s *Sender) markAll(r *round, idx []int, status int, typ, reason string) {
	for _, i := range idx {
		o := &r.rep.Outcomes[i]
		o.State, o.Status, o.Type, o.Reason = Pending, status, typ, reason
	}
}
