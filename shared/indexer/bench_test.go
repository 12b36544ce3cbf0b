package indexer

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/tributary-logs/tributary/shared/bulk"
	"github.com/tributary-logs/tributary/shared/opensearch"
	"github.com/tributary-logs/tributary/shared/record"
)

// workloadEvent reads the shared workload's 1 MB awslogs event
// ($TRIBUTARY_WORKLOAD/awslogs-1.json, made by `make bench`).
func workloadEvent(b *testing.B) []byte {
	b.Helper()
	dir := os.Getenv("TRIBUTARY_WORKLOAD")
	if dir == "" {
		b.Skip("TRIBUTARY_WORKLOAD is not set (make bench sets it)")
	}
	ev, err := os.ReadFile(filepath.Join(dir, "awslogs-1.json"))
	if err != nil {
		b.Skipf("shared workload absent: %v", err)
	}
	return ev
}

// messageBytes returns the events and message bytes of a subscription event.
func messageBytes(b *testing.B, h *Handler, event []byte) (events, bytes int) {
	b.Helper()
	var p fastjson.Parser
	ev, err := parseEvent(&p, event)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := appendBase64(nil, ev.data)
	if err != nil {
		b.Fatal(err)
	}
	env, err := h.dec.Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range env.LogEvents {
		bytes += len(e.Message)
	}
	return len(env.LogEvents), bytes
}

// BenchmarkPayloadToBulkBody: one invocation's CPU work before the network,
// single core: event JSON, base64, gunzip, CloudWatch JSON, filters,
// redaction, parsing, and the _bulk body. MB/s counts log-message bytes.
func BenchmarkPayloadToBulkBody(b *testing.B) {
	event := workloadEvent(b)
	r := newRig(b, true, nil)
	h := r.h
	events, msgBytes := messageBytes(b, h, event)
	b.SetBytes(int64(msgBytes))
	b.ReportAllocs()
	bodyBytes := 0
	b.ResetTimer()
	for b.Loop() {
		ev, err := parseEvent(&h.parser, event)
		if err != nil {
			b.Fatal(err)
		}
		h.inv = invocation{ctx: context.Background(), source: "awslogs"}
		if err := h.subscription(ev.data); err != nil {
			b.Fatal(err)
		}
		if h.batch.Len() != events-h.inv.sum.Filtered {
			b.Fatalf("%d documents from %d events", h.batch.Len(), events)
		}
		bodyBytes = h.batch.Bytes()
		h.batch.Reset()
		h.proc.TakeStats()
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(bodyBytes), "body-bytes")
}

// BenchmarkEndToEnd: a whole invocation against the local bulk server over
// HTTP (set-up done once, the indices emptied between invocations so every
// document is a create), including the server's own parsing.
func BenchmarkEndToEnd(b *testing.B) {
	event := workloadEvent(b)
	r := newRig(b, true, map[string]string{"BULK_MAX_BYTES": "5242880"})
	r.h.o.Budget = time.Minute
	events, msgBytes := messageBytes(b, r.h, event)
	if _, err := r.h.Process(context.Background(), event); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(msgBytes))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		r.srv.ClearIndices()
		b.StartTimer()
		sum, err := r.h.Process(context.Background(), event)
		if err != nil {
			b.Fatal(err)
		}
		if sum.Indexed != events-sum.Filtered {
			b.Fatalf("summary %+v", sum)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkEndToEndMinimalServer is BenchmarkEndToEnd against a server that
// only counts the documents and answers 201 for each, so the figures are
// the indexer's own (HTTP client included) rather than the strict fake's.
func BenchmarkEndToEndMinimalServer(b *testing.B) {
	event := workloadEvent(b)
	item := []byte(`{"create":{"_index":"cwl","_id":"x","status":201}},`)
	var resp []byte
	var in bytes.Buffer // reused: the server's own allocations stay out of the figures
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.Reset()
		_, _ = in.ReadFrom(r.Body)
		n := bytes.Count(in.Bytes(), []byte("\n")) / 2
		resp = append(resp[:0], `{"took":1,"errors":false,"items":[`...)
		for i := 0; i < n; i++ {
			resp = append(resp, item...)
		}
		resp = append(resp[:len(resp)-1], "]}"...)
		_, _ = w.Write(resp)
	}))
	defer srv.Close()
	r := newRig(b, true, map[string]string{"BULK_MAX_BYTES": "5242880"})
	client, err := opensearch.New(opensearch.Options{Endpoint: srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	r.h.o.Sender = bulk.NewSender(client, bulk.Options{MaxBytes: 5 << 20})
	r.h.o.Setup = nil
	events, msgBytes := messageBytes(b, r.h, event)
	b.SetBytes(int64(msgBytes))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		sum, err := r.h.Process(context.Background(), event)
		if err != nil || sum.Indexed != events {
			b.Fatalf("summary %+v, %v", sum, err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkBulkEncodeOnly isolates this package's share of
// BenchmarkPayloadToBulkBody: the records of the workload event, already
// normalized, encoded into the _bulk body (index name, action, document).
func BenchmarkBulkEncodeOnly(b *testing.B) {
	event := workloadEvent(b)
	r := newRig(b, true, nil)
	h := r.h
	ev, err := parseEvent(&h.parser, event)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := appendBase64(nil, ev.data)
	if err != nil {
		b.Fatal(err)
	}
	env, err := h.dec.Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	var recs []record.Record
	msgBytes := 0
	for _, e := range env.LogEvents {
		rec := record.Record{TimestampMillis: e.Timestamp, ID: e.ID, Owner: env.Owner, LogGroup: env.LogGroup, LogStream: env.LogStream, Message: e.Message}
		if h.proc.Normalize(&rec) {
			rec.Fields = append([]byte(nil), rec.Fields...)
			recs = append(recs, rec)
			msgBytes += len(e.Message)
		}
	}
	b.SetBytes(int64(msgBytes))
	b.ReportAllocs()
	for b.Loop() {
		h.batch.Reset()
		for i := range recs {
			h.batch.Add(&recs[i], i)
		}
	}
	b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}
