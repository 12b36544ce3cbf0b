// Package bulk turns normalized records into OpenSearch _bulk requests and
// sends them so that nothing is lost or duplicated: every document is a
// `create` with the event's id as _id in the index named by the event's own
// timestamp, so a retry (of an item, a request or a whole invocation) can
// only find the document already there (409, counted as indexed).
//
// A Batch holds the encoded documents of one invocation; a Sender ships it
// in requests bounded by bytes and documents, a few in flight, retries only
// the items that failed with a retryable status (429, es_rejected_execution_
// exception, 5xx, connection errors) with exponential backoff and jitter
// within a deadline, splits requests the server refuses as too large (413),
// and reports a per-item outcome: created, already present, permanently
// failed (mapping conflicts, parse errors: for the dead-letter prefix), or
// still retryable when time ran out.
package bulk

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/tributary-logs/tributary/shared/record"
)

// MaxIDBytes is OpenSearch's limit on a document _id.
const MaxIDBytes = 512

// Item is one document of a Batch: offsets into the batch's buffer.
type Item struct {
	start  int // action line
	src    int // source line
	end    int // after the source line's newline
	index  [2]int
	id     [2]int
	Source int // position of the record in the caller's input, for reports
}

// Batch is a sequence of encoded _bulk items (action line + source line),
// built once and sent, whole or in parts, without re-encoding.
type Batch struct {
	pattern *Pattern
	buf     []byte
	items   []Item
}

// NewBatch returns an empty batch naming indexes with p.
func NewBatch(p *Pattern) *Batch { return &Batch{pattern: p} }

// Reset empties the batch, keeping its memory.
func (b *Batch) Reset() {
	b.buf = b.buf[:0]
	b.items = b.items[:0]
}

// Len is the number of items.
func (b *Batch) Len() int { return len(b.items) }

// Bytes is the size of all items' NDJSON.
func (b *Batch) Bytes() int { return len(b.buf) }

// Add encodes r as a create action and its document. source is the caller's
// reference for the record (its position in the input), returned in reports.
// A record without an id gets a deterministic one derived from its content,
// so even then a retry cannot duplicate it.
func (b *Batch) Add(r *record.Record, source int) {
	it := Item{start: len(b.buf), Source: source}
	b.buf = append(b.buf, `{"create":{"_index":"`...)
	it.index[0] = len(b.buf)
	b.buf = b.pattern.AppendIndex(b.buf, r)
	it.index[1] = len(b.buf)
	b.buf = append(b.buf, `","_id":`...)
	it.id[0] = len(b.buf) + 1
	var idJSON []byte // the document's id is the _id written here, unless that was derived
	if id := r.ID; id == "" || len(id) > MaxIDBytes {
		b.buf = record.AppendString(b.buf, ContentID(r))
	} else {
		b.buf = r.AppendID(b.buf)
		idJSON = b.buf[it.id[0]-1 : len(b.buf) : len(b.buf)]
	}
	it.id[1] = len(b.buf) - 1
	b.buf = append(b.buf, "}}\n"...)
	it.src = len(b.buf)
	b.buf = r.AppendJSONWithID(b.buf, idJSON)
	b.buf = append(b.buf, '\n')
	it.end = len(b.buf)
	b.items = append(b.items, it)
}

// Item returns the i-th item.
func (b *Batch) Item(i int) Item { return b.items[i] }

// Document returns the i-th item's source (the record's JSON, no newline).
func (b *Batch) Document(i int) []byte {
	it := &b.items[i]
	return b.buf[it.src : it.end-1]
}

// Index returns the i-th item's index name.
func (b *Batch) Index(i int) string {
	it := &b.items[i]
	return string(b.buf[it.index[0]:it.index[1]])
}

// ID returns the i-th item's _id as encoded (JSON-escaped if it needed it).
func (b *Batch) ID(i int) string {
	it := &b.items[i]
	return string(b.buf[it.id[0]:it.id[1]])
}

// Body returns the _bulk NDJSON of all items.
func (b *Batch) Body() []byte { return b.buf }

// size is the encoded size of item i.
func (b *Batch) size(i int) int { return b.items[i].end - b.items[i].start }

// appendItems appends the NDJSON of the listed items to dst.
func (b *Batch) appendItems(dst []byte, idx []int) []byte {
	for _, i := range idx {
		it := &b.items[i]
		dst = append(dst, b.buf[it.start:it.end]...)
	}
	return dst
}

// contiguous reports whether idx is a run of consecutive items, whose body
// is then a slice of the batch's buffer and needs no copy.
func contiguous(idx []int) bool {
	for k := 1; k < len(idx); k++ {
		if idx[k] != idx[k-1]+1 {
			return false
		}
	}
	return true
}

// ContentID derives a stable _id for a record that has none (or one longer
// than OpenSearch allows): a hash of what identifies the event.
func ContentID(r *record.Record) string {
	h := sha256.New()
	var num [20]byte
	h.Write(strconv.AppendInt(num[:0], r.TimestampMillis, 10))
	for _, s := range [...]string{r.ID, r.Owner, r.LogGroup, r.LogStream, r.Message} {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	var sum [sha256.Size]byte
	return "sha256-" + hex.EncodeToString(h.Sum(sum[:0])[:20])
}
