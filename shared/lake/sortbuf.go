package lake

import (
	"bytes"
	"cmp"
	"slices"
	"unsafe"
)

// DefaultSortBufferBytes is the memory that holds rows before a sorted run
// is spilled to disk. Firehose buffers at most 128 MiB before compressing,
// so most inputs sort in one run and are never spilled.
const DefaultSortBufferBytes = 64 << 20

const slotSize = int(unsafe.Sizeof(slotRow{}))

// sortBuffer holds parsed rows (fixed-size slots whose strings live in one
// arena) until it is full, then sorts them. Its memory is allocated once and
// reused, so a long input costs no more than a short one.
type sortBuffer struct {
	arena []byte
	rows  []slotRow
	idx   []int32
}

func newSortBuffer(budget int) *sortBuffer {
	budget = max(budget, 4<<10)
	rowBytes := budget / 8
	return &sortBuffer{
		arena: make([]byte, 0, budget-rowBytes),
		rows:  make([]slotRow, 0, rowBytes/(slotSize+4)),
	}
}

// fits reports whether a line of n bytes surely fits: decoding never grows a
// string more than threefold (one invalid byte becomes U+FFFD).
func (b *sortBuffer) fits(n int) bool {
	return len(b.rows) < cap(b.rows) && len(b.arena)+3*n+64 <= cap(b.arena)
}

func (b *sortBuffer) len() int { return len(b.rows) }

func (b *sortBuffer) reset() {
	b.arena = b.arena[:0]
	b.rows = b.rows[:0]
	b.idx = b.idx[:0]
}

// sort orders the rows by compareRows, through an index.
func (b *sortBuffer) sort() {
	b.idx = b.idx[:0]
	for i := range b.rows {
		b.idx = append(b.idx, int32(i))
	}
	arena := b.arena
	str := func(s span) []byte { return arena[s.off : s.off+s.n] }
	slices.SortFunc(b.idx, func(x, y int32) int {
		rx, ry := &b.rows[x], &b.rows[y]
		if c := cmp.Compare(hourOf(rx.ts), hourOf(ry.ts)); c != 0 {
			return c
		}
		if gx, gy := rx.s[colGroup], ry.s[colGroup]; gx != gy {
			if c := bytes.Compare(str(gx), str(gy)); c != 0 {
				return c
			}
		}
		if c := cmp.Compare(rx.ts, ry.ts); c != 0 {
			return c
		}
		return bytes.Compare(str(rx.s[colID]), str(ry.s[colID]))
	})
}

// view points v at the i-th row in sorted order.
func (b *sortBuffer) view(i int, v *rowView) {
	r := &b.rows[b.idx[i]]
	v.ts = r.ts
	for c, s := range r.s {
		v.s[c] = b.arena[s.off : s.off+s.n : s.off+s.n]
	}
}

// memSource yields a sorted buffer's rows.
type memSource struct {
	b *sortBuffer
	i int
	v rowView
}

func (m *memSource) next() (*rowView, error) {
	if m.i >= len(m.b.idx) {
		return nil, errEnd
	}
	m.b.view(m.i, &m.v)
	m.v.stable = true
	m.i++
	return &m.v, nil
}

func (m *memSource) close() error { return nil }
