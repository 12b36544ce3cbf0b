package lake

import "errors"

// errEnd ends a rowSource.
var errEnd = errors.New("end of rows")

// rowSource yields rows in compareRows order. The returned view is valid
// until the next call.
type rowSource interface {
	next() (*rowView, error)
	close() error
}

// merger merges sorted sources into one sorted stream (a binary min-heap of
// the sources' current rows). Sources may also be given lazily, with a lower
// bound of their first row: they are opened only when the merge reaches that
// bound, so files whose key ranges do not overlap are never open together.
type merger struct {
	heap    []mergeItem
	lazy    []lazySource // ascending by bound
	pending bool         // heap[0]'s row was handed out; advance it first
	err     error
}

type mergeItem struct {
	src rowSource
	row *rowView
}

// lazySource is a source not opened yet; bound is at most its first row.
type lazySource struct {
	bound rowView
	open  func() (rowSource, error)
}

func newMerger(srcs []rowSource, lazy []lazySource) (*merger, error) {
	m := &merger{heap: make([]mergeItem, 0, len(srcs)), lazy: lazy}
	for _, s := range srcs {
		if err := m.add(s); err != nil {
			_ = m.close()
			return nil, err
		}
	}
	return m, nil
}

// add pushes a source (closing it at once when it is empty).
func (m *merger) add(s rowSource) error {
	row, err := s.next()
	if errors.Is(err, errEnd) {
		return s.close()
	}
	if err != nil {
		_ = s.close()
		return err
	}
	m.heap = append(m.heap, mergeItem{s, row})
	m.up(len(m.heap) - 1)
	return nil
}

// open opens the lazy sources whose bound is not after the smallest row.
func (m *merger) openDue() error {
	for len(m.lazy) > 0 && (len(m.heap) == 0 || compareRows(&m.lazy[0].bound, m.heap[0].row) <= 0) {
		l := m.lazy[0]
		m.lazy = m.lazy[1:]
		s, err := l.open()
		if err != nil {
			return err
		}
		if err := m.add(s); err != nil {
			return err
		}
	}
	return nil
}

// next returns the smallest row; it stays valid until the following call.
func (m *merger) next() (*rowView, error) {
	if m.err != nil {
		return nil, m.err
	}
	if m.pending {
		m.pending = false
		top := &m.heap[0]
		row, err := top.src.next()
		switch {
		case errors.Is(err, errEnd):
			if err := top.src.close(); err != nil {
				m.err = err
				return nil, err
			}
			last := len(m.heap) - 1
			m.heap[0] = m.heap[last]
			m.heap = m.heap[:last]
		case err != nil:
			m.err = err
			return nil, err
		default:
			top.row = row
		}
		if len(m.heap) > 1 {
			m.down(0)
		}
	}
	if err := m.openDue(); err != nil {
		m.err = err
		return nil, err
	}
	if len(m.heap) == 0 {
		return nil, errEnd
	}
	m.pending = true
	return m.heap[0].row, nil
}

// opened returns how many sources are open now.
func (m *merger) opened() int { return len(m.heap) }

func (m *merger) close() error {
	var err error
	for _, it := range m.heap {
		err = errors.Join(err, it.src.close())
	}
	m.heap = nil
	return err
}

func (m *merger) less(i, j int) bool { return compareRows(m.heap[i].row, m.heap[j].row) < 0 }

func (m *merger) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !m.less(i, p) {
			return
		}
		m.heap[i], m.heap[p] = m.heap[p], m.heap[i]
		i = p
	}
}

func (m *merger) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		s := l
		if r := l + 1; r < n && m.less(r, l) {
			s = r
		}
		if !m.less(s, i) {
			return
		}
		m.heap[i], m.heap[s] = m.heap[s], m.heap[i]
		i = s
	}
}
