// Package faultproxy sits between a function and moto's server and injects
// the failures AWS produces under load, so the end-to-end test can prove
// that none of them loses or duplicates an event: Firehose PutRecordBatch
// partial failures (FailedPutCount > 0 with per-entry errors) and S3 5xx
// (503 SlowDown) on some object writes. Everything else passes through.
package faultproxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Faults says how often each failure happens (0 to 1).
type Faults struct {
	FirehoseEntryFailure float64 // share of PutRecordBatch entries rejected
	S3PutFailure         float64 // share of S3 PutObject calls answered 503
}

// Counts is what the proxy injected.
type Counts struct {
	FirehoseEntriesFailed int
	S3PutsFailed          int
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL    string
	faults Faults
	target *url.URL
	rp     *httputil.ReverseProxy
	srv    *http.Server
	mu     sync.Mutex
	rng    *rand.Rand
	counts Counts
}

// Start proxies to target (moto's endpoint) on a free loopback port.
func Start(target string, faults Faults, seed uint64) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy target: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy listen: %w", err)
	}
	p := &Proxy{URL: "http://" + l.Addr().String(), faults: faults, target: u,
		rp: httputil.NewSingleHostReverseProxy(u), rng: rand.New(rand.NewPCG(seed, 99))}
	p.srv = &http.Server{Handler: p}
	go p.srv.Serve(l)
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

// Counts returns what was injected so far.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

func (p *Proxy) roll(prob float64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return prob > 0 && p.rng.Float64() < prob
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutRecordBatch") && p.faults.FirehoseEntryFailure > 0:
		p.putRecordBatch(w, r)
		return
	case r.Method == http.MethodPut && isS3ObjectPut(r) && p.roll(p.faults.S3PutFailure):
		p.mu.Lock()
		p.counts.S3PutsFailed++
		p.mu.Unlock()
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>faultproxy</RequestId></Error>`)
		return
	}
	p.rp.ServeHTTP(w, r)
}

// isS3ObjectPut recognises PutObject in path-style addressing
// (/bucket/key), the only style used against loopback endpoints.
func isS3ObjectPut(r *http.Request) bool {
	if r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)
	return len(parts) == 2 && parts[1] != "" && r.URL.Query().Get("uploadId") == ""
}

type recordBatch struct {
	DeliveryStreamName string            `json:"DeliveryStreamName"`
	Records            []json.RawMessage `json:"Records"`
}

// putRecordBatch rejects a share of the entries the way Firehose does: the
// call succeeds, FailedPutCount counts the rejected ones, and each rejected
// entry carries an ErrorCode in the response at its own position.
func (p *Proxy) putRecordBatch(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var in recordBatch
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	failed := make([]bool, len(in.Records))
	var keep []json.RawMessage
	for i, rec := range in.Records {
		if p.roll(p.faults.FirehoseEntryFailure) {
			failed[i] = true
			continue
		}
		keep = append(keep, rec)
	}
	type entry struct {
		RecordID     string `json:"RecordId,omitempty"`
		ErrorCode    string `json:"ErrorCode,omitempty"`
		ErrorMessage string `json:"ErrorMessage,omitempty"`
	}
	var upstream struct {
		FailedPutCount   int     `json:"FailedPutCount"`
		Encrypted        bool    `json:"Encrypted"`
		RequestResponses []entry `json:"RequestResponses"`
	}
	if len(keep) > 0 {
		fwd, _ := json.Marshal(recordBatch{DeliveryStreamName: in.DeliveryStreamName, Records: keep})
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.target.String()+r.URL.Path, bytes.NewReader(fwd))
		req.Header = r.Header.Clone()
		req.Header.Del("Content-Length")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			w.WriteHeader(resp.StatusCode)
			w.Write(rb)
			return
		}
		if err := json.Unmarshal(rb, &upstream); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	out := struct {
		FailedPutCount   int     `json:"FailedPutCount"`
		Encrypted        bool    `json:"Encrypted"`
		RequestResponses []entry `json:"RequestResponses"`
	}{FailedPutCount: upstream.FailedPutCount}
	j := 0
	for i := range in.Records {
		if failed[i] {
			out.FailedPutCount++
			out.RequestResponses = append(out.RequestResponses, entry{ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down."})
			continue
		}
		out.RequestResponses = append(out.RequestResponses, upstream.RequestResponses[j])
		j++
	}
	p.mu.Lock()
	for _, f := range failed {
		if f {
			p.counts.FirehoseEntriesFailed++
		}
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}
