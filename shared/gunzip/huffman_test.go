package gunzip

import (
	"container/heap"
	"math/rand/v2"
	"testing"
)

// subtree is a Huffman subtree under construction: its weight and symbols.
type subtree struct {
	w    int
	syms []int
}

// forest is a min-heap of subtrees by weight.
type forest []subtree

func (h forest) Len() int           { return len(h) }
func (h forest) Less(i, j int) bool { return h[i].w < h[j].w }
func (h forest) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *forest) Push(x any)        { *h = append(*h, x.(subtree)) }
func (h *forest) Pop() any          { old := *h; x := old[len(old)-1]; *h = old[:len(old)-1]; return x }

// completeLengths returns the code lengths of a Huffman code for n symbols
// with random frequencies (some unused), or nil when it is deeper than
// DEFLATE allows. A Huffman code with two or more symbols is complete.
func completeLengths(rng *rand.Rand, n int) []uint8 {
	lengths := make([]uint8, n)
	h := &forest{}
	for s := range n {
		if rng.IntN(4) != 0 {
			heap.Push(h, subtree{1 + rng.IntN(1<<rng.IntN(16)), []int{s}})
		}
	}
	if h.Len() < 2 {
		return nil
	}
	for h.Len() > 1 {
		a, b := heap.Pop(h).(subtree), heap.Pop(h).(subtree)
		merged := subtree{a.w + b.w, append(a.syms, b.syms...)}
		for _, s := range merged.syms {
			lengths[s]++ // one level deeper
		}
		heap.Push(h, merged)
	}
	for _, l := range lengths {
		if l > maxCode {
			return nil
		}
	}
	return lengths
}

// build leaves no entry unwritten for a complete code: it skips clearing the
// table then, so an entry it missed would keep the previous block's value.
func TestCompleteCodeWritesEveryEntry(t *testing.T) {
	const stale = 0xdeadbeef
	rng := rand.New(rand.NewPCG(1, 2))
	var sorted [288]uint16
	built := 0
	for built < 3000 {
		lit := rng.IntN(2) == 0
		n, root, info, table := 30, uint(distRoot), distInfo[:], make([]uint32, distTableSize)
		if lit {
			n, root, info, table = 286, litRoot, litInfo[:], make([]uint32, litTableSize)
		}
		lengths := completeLengths(rng, n)
		if lengths == nil {
			continue
		}
		for i := range table {
			table[i] = stale
		}
		if err := build(table, lengths, info[:n], root, &sorted); err != nil {
			t.Fatalf("complete code refused: %v (lengths %v)", err, lengths)
		}
		built++
		used := 1 << root // the root table, then the subtables, packed
		for i := len(table) - 1; i >= used; i-- {
			if table[i] != stale {
				used = i + 1
				break
			}
		}
		for i, e := range table[:used] {
			if e == stale {
				t.Fatalf("entry %d of %d left unwritten (lengths %v)", i, used, lengths)
			}
		}
	}
}
